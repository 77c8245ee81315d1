// `npm run bench`: delivered messages per second end to end, smtp-source → MTA → smtp-sink,
// for Stafette and for Postfix relaying the same load to the same kind of sink, on the same
// machine in the same run, plus the machine's ceiling (smtp-source straight into smtp-sink).
// Set-up and load as docs/performance.md §2; see bench/README.md for how each figure is taken.
//
//   - Load: smtp-source -s 20 -m <messages> -l 2048 -f a@example.test -t b@example.test, one
//     SMTP session per message. accepted/s = messages / smtp-source wall time; delivered/s =
//     messages / time from smtp-source's start until the sink's counter (smtp-sink -c) has
//     counted them all.
//   - Latency accepted → delivered: our client (e2e-latency.ts) sends marked messages the same
//     way (20 sessions, one per message) and notes when it read each 250; the sink dumps every
//     message to a file on tmpfs (smtp-sink -d) whose mtime is its arrival. Same for every system.
//   - CPU seconds: /proc/<pid>/stat utime+stime of every live process of the system plus
//     cutime+cstime (reaped children), difference over the run (proc-stats.ts). Stafette: the
//     MTA process and nats-server; Postfix: its master and everything under it.
//   - JetStream round trips per message: messages the MTA sent to nats-server (in_msgs of its
//     connections on /connz: requests, publishes, pulls, acks) and got back (out_msgs), over
//     the run, divided by the run's messages (nats-connz.ts).
//   - Peak memory: the largest sum of RSS over those processes, sampled every 200 ms during
//     the run; for Stafette also the kernel's peak (VmHWM) of the MTA and nats-server.
// Systems take turns run by run (a warm-up round first). Every wait is bounded.
import { mib, positive, runBench } from './bench-cli.ts';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startDnsServer, type DnsServer } from '../test/harness/dns-server.ts';
import { freePort, stopAll } from '../test/harness/process.ts';
import { nowMs, sendMarked } from './e2e-latency.ts';
import { dumpArgs, readArrivals, startSink } from './e2e-sink.ts';
import { chartMtaNodeOptions, metricValue, startStafetteE2e } from './e2e-stafette.ts';
import { startPostfix } from './postfix-instance.ts';
import { natsTraffic, type NatsTraffic } from './nats-connz.ts';
import { cpuSeconds, peakRssBytes, sampleMemory } from './proc-stats.ts';
import { quantile, runSmtpSource } from './smtp-load.ts';

const repoRoot = resolve(import.meta.dirname, '..');

const usage = `Usage: npm run bench -- [options]
  --messages <n>          messages per smtp-source run (default 20000)
  --sessions <n>          parallel SMTP sessions (default 20)
  --size <bytes>          message size (default 2048)
  --latency-messages <n>  marked messages for the accepted → delivered latency (default 2000)
  --runs <n>              measured runs per system; medians are reported (default 1)
  --delivery-workers <n>  Stafette's delivery workers (default: the MTA's own default)
  --timeout <seconds>     limit for each run, delivery wait and latency pass (default 300)
  --only <systems>        comma-separated: ceiling,stafette,stafette-checks,stafette-default-sync,postfix
                          (default: ceiling,stafette,stafette-checks,postfix)
  --out <file>            where the markdown table is written too (default bench/results/end-to-end.md)`;

const from = 'a@example.test';
const to = 'b@example.test';

interface Instance {
  /** Where the load goes. */
  readonly host: string;
  readonly port: number;
  /** The system's processes (tree roots) for CPU and memory; none for the ceiling. */
  readonly pids: readonly number[];
  delivered(): number;
  readonly dumpDir: string;
  /** A line for the check column. */
  check?(): Promise<string>;
  /** Names of the processes in `pids`, to show their CPU apart. */
  readonly cpuParts?: readonly string[];
  /** Messages between the MTA and nats-server so far; none for Postfix and the ceiling. */
  nats?(): Promise<NatsTraffic>;
  stop(): Promise<void>;
}

interface System {
  readonly key: string;
  readonly label: string;
  start(dir: string, dumpDir: string): Promise<Instance>;
}

interface RunFigures {
  readonly accepted: number;
  readonly delivered: number;
  readonly cpu: number;
  /** CPU seconds of each root process's tree, in the order of Instance.pids. */
  readonly cpuEach: number[];
  readonly peakRss: number;
  readonly peakPss: number;
  /** Messages to and from nats-server per delivered message over the run. */
  readonly natsPerMessage: NatsTraffic | null;
}

interface Running {
  readonly system: System;
  readonly instance: Instance;
  sent: number;
  readonly runs: RunFigures[];
  latency: number[];
  latencyNote: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      sessions: { type: 'string', default: '20' },
      size: { type: 'string', default: '2048' },
      'latency-messages': { type: 'string', default: '2000' },
      runs: { type: 'string', default: '1' },
      'delivery-workers': { type: 'string' },
      timeout: { type: 'string', default: '300' },
      only: { type: 'string', default: 'ceiling,stafette,stafette-checks,postfix' },
      out: { type: 'string', default: join(repoRoot, 'bench/results/end-to-end.md') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const messages = positive(values.messages, 'messages');
  const sessions = positive(values.sessions, 'sessions');
  const size = positive(values.size, 'size');
  const latencyMessages = positive(values['latency-messages'], 'latency-messages');
  const runs = positive(values.runs, 'runs');
  const deliveryWorkers = values['delivery-workers'] === undefined ? undefined : positive(values['delivery-workers'], 'delivery-workers');
  const timeoutMs = positive(values.timeout, 'timeout') * 1000;
  const only = values.only.split(',');
  if (process.getuid?.() !== 0) throw new Error('the Postfix anchor needs root (postfix start binds and drops privileges)');

  // The sender domain's records for the run with the inbound checks, served by a real DNS
  // server (dnsmasq) with a TTL of 300 s, so the MTA's DNS cache answers most lookups as it
  // would for a busy sender: SPF passes for 127.0.0.1, DMARC p=reject aligns on SPF. The
  // server is authoritative, so its NXDOMAIN answers (DMARC's tree walk asks _dmarc.test)
  // carry an SOA and are cached, as those of real zones are.
  let dns: DnsServer | undefined;
  const checksDns = async (): Promise<string> => {
    dns ??= await startDnsServer({
      local: ['test'],
      txt: { 'example.test': 'v=spf1 ip4:127.0.0.1 -all', '_dmarc.example.test': 'v=DMARC1; p=reject' },
      ttlSeconds: 300,
      authoritative: true,
    });
    return dns.address;
  };
  const stafette = (key: string, label: string, syncInterval: string | undefined, inboundChecks = false): System => ({
    key,
    label,
    async start(dir, dumpDir) {
      const sink = await startSink({ name: 'smtp-sink-lmtp', host: '127.0.0.2', port: await freePort('127.0.0.2'), lmtp: true, dumpDir, logDir: dir });
      try {
        const inboundChecksDns = inboundChecks ? await checksDns() : undefined;
        const mta = await startStafetteE2e({
          dir,
          recipient: to,
          lmtp: { host: sink.host, port: sink.port },
          syncInterval,
          deliveryWorkers,
          ...(inboundChecksDns ? { inboundChecksDns } : {}),
        });
        const before = await mta.metrics();
        const acceptedBefore = metricValue(before, 'stafette_smtp_messages_accepted_total{listener="mx"}');
        return {
          host: '127.0.0.1',
          port: mta.port,
          pids: mta.pids,
          cpuParts: ['MTA', 'nats-server'],
          delivered: () => sink.delivered(),
          dumpDir,
          nats: () => natsTraffic(mta.natsMonitorPort),
          async check() {
            const text = await mta.metrics();
            const accepted = metricValue(text, 'stafette_smtp_messages_accepted_total{listener="mx"}') - acceptedBefore;
            const deferred = text
              .split('\n')
              .filter((l) => l.startsWith('stafette_delivery_recipients_total{') && l.includes('result="deferred"'))
              .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
            return `${accepted} counted as accepted, ${deferred} delivery attempts deferred`;
          },
          async stop() {
            try {
              await mta.stop();
            } finally {
              await sink.stop();
            }
          },
        };
      } catch (err) {
        await sink.stop();
        throw err;
      }
    },
  });
  const all: System[] = [
    {
      key: 'ceiling',
      label: 'harness ceiling: smtp-source straight into smtp-sink',
      async start(dir, dumpDir) {
        const sink = await startSink({ name: 'smtp-sink-ceiling', host: '127.0.0.2', port: await freePort('127.0.0.2'), lmtp: false, dumpDir, logDir: dir });
        return { host: sink.host, port: sink.port, pids: [], delivered: () => sink.delivered(), dumpDir, stop: () => sink.stop() };
      },
    },
    stafette('stafette', 'Stafette, JetStream sync_interval always, LMTP to smtp-sink -L', 'always'),
    stafette('stafette-checks', 'Stafette, as above, with the MX checks on (SPF, DKIM, DMARC; DNS cached)', 'always', true),
    stafette('stafette-default-sync', 'Stafette, JetStream default sync, LMTP to smtp-sink -L', undefined),
    {
      key: 'postfix',
      label: 'Postfix 3.7, defaults, relayhost = smtp-sink',
      async start(dir, dumpDir) {
        const pf = await startPostfix({ dir, port: await freePort(), sinkPort: await freePort('127.0.0.2'), sinkArgs: dumpArgs(dumpDir) });
        const master = Number(readFileSync(join(dir, 'spool/pid/master.pid'), 'utf8').trim());
        return { host: '127.0.0.1', port: pf.port, pids: [master], delivered: () => pf.delivered(), dumpDir, stop: () => pf.stop() };
      },
    },
  ];
  const systems = all.filter((s) => only.includes(s.key));
  for (const key of only) if (!all.some((s) => s.key === key)) throw new Error(`--only: no system ${key}`);

  const loadBefore = loadavg()[0]!;
  const root = mkdtempSync(join(tmpdir(), 'stafette-e2e-'));
  chmodSync(root, 0o755); // Postfix's daemons run as the postfix user and must reach their directories
  const dumpRoot = mkdtempSync('/dev/shm/stafette-e2e-');
  chmodSync(dumpRoot, 0o755);
  const running: Running[] = [];
  let ok = false;
  try {
    for (const system of systems) {
      const dir = join(root, system.key);
      mkdirSync(dir, { recursive: true });
      console.error(`${system.label}: starting`);
      const instance = await system.start(dir, join(dumpRoot, system.key));
      running.push({ system, instance, sent: 0, runs: [], latency: [], latencyNote: '' });
    }
    // Turns, run by run, so other work on a shared machine spreads over every system.
    for (let run = 0; run <= runs; run++) {
      for (const r of running) {
        const count = run === 0 ? Math.min(messages, 500) : messages; // run 0 warms up, unmeasured
        const figures = await measureRun(r, count, sessions, size, timeoutMs);
        rmSync(join(r.instance.dumpDir, 'm'), { recursive: true, force: true });
        if (run === 0) continue;
        r.runs.push(figures);
        console.error(
          `${r.system.label}: run ${run}: accepted ${figures.accepted.toFixed(0)}/s, delivered ${figures.delivered.toFixed(0)}/s, CPU ${figures.cpu.toFixed(1)} s, peak PSS ${mib(figures.peakPss)}, RSS ${mib(figures.peakRss)}`,
        );
      }
    }
    for (const r of running) {
      const tag = `${r.system.key}-${Date.now()}`;
      const result = await sendMarked({ host: r.instance.host, port: r.instance.port, messages: latencyMessages, sessions, size, from, to, tag }, timeoutMs);
      r.sent += result.acceptedAt.size;
      await waitDelivered(r, timeoutMs);
      const arrivals = readArrivals(r.instance.dumpDir);
      let missing = 0;
      for (const [id, accepted] of result.acceptedAt) {
        const arrived = arrivals.get(id);
        if (arrived === undefined) missing++;
        else r.latency.push((arrived - accepted) / 1000);
      }
      r.latencyNote = `${r.latency.length} marked messages timed${missing ? `, ${missing} not found at the sink` : ''}${result.failures ? `, ${result.failures} failed to send (${result.firstFailure})` : ''}`;
      rmSync(join(r.instance.dumpDir, 'm'), { recursive: true, force: true });
    }
    const lines = await report(running, { messages, sessions, size, runs, latencyMessages, loadBefore, deliveryWorkers });
    const text = `${lines.join('\n')}\n`;
    console.log(`\n${lines.join('\n')}`);
    mkdirSync(resolve(values.out, '..'), { recursive: true });
    writeFileSync(values.out, text);
    ok = true;
  } finally {
    for (const r of running) await r.instance.stop().catch((err: unknown) => console.error(`${r.system.label}: stop failed: ${String(err)}`));
    await dns?.stop();
    await stopAll();
    if (ok) rmSync(root, { recursive: true, force: true });
    else console.error(`logs kept in ${root}`);
    rmSync(dumpRoot, { recursive: true, force: true });
  }
  return 0;
}

async function measureRun(r: Running, count: number, sessions: number, size: number, timeoutMs: number): Promise<RunFigures> {
  const pids = r.instance.pids;
  const cpuBefore = pids.map((p) => cpuSeconds([p]));
  const memory = sampleMemory(pids);
  const natsBefore = await r.instance.nats?.();
  const started = nowMs();
  const acceptSeconds = await runSmtpSource({ host: r.instance.host, port: r.instance.port, messages: count, sessions, size, from, to }, timeoutMs);
  r.sent += count;
  const deliveredAt = await waitDelivered(r, timeoutMs);
  // Work after the last delivery (queue clean-up, acks, logging) belongs to the run too.
  await sleep(1000);
  const cpuEach = pids.map((p, i) => cpuSeconds([p]) - cpuBefore[i]!);
  const cpu = cpuEach.reduce((a, b) => a + b, 0);
  const peak = memory.stop();
  const natsAfter = await r.instance.nats?.();
  const natsPerMessage = natsBefore && natsAfter ? { in: (natsAfter.in - natsBefore.in) / count, out: (natsAfter.out - natsBefore.out) / count } : null;
  return {
    accepted: count / acceptSeconds,
    delivered: count / ((deliveredAt - started) / 1000),
    cpu,
    cpuEach,
    peakRss: peak.rss,
    peakPss: peak.pss,
    natsPerMessage,
  };
}

/** Waits (bounded) until the sink counted everything sent to this system; returns when (epoch ms). */
async function waitDelivered(r: Running, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (r.instance.delivered() < r.sent) {
    if (Date.now() > deadline)
      throw new Error(`${r.system.label}: the sink counted ${r.instance.delivered()} of ${r.sent} messages after ${timeoutMs / 1000} s`);
    await sleep(5);
  }
  return nowMs();
}

async function report(
  running: Running[],
  o: { messages: number; sessions: number; size: number; runs: number; latencyMessages: number; loadBefore: number; deliveryWorkers: number | undefined },
): Promise<string[]> {
  const median = (xs: number[]) => quantile(xs, 0.5);
  const postfix = running.find((r) => r.system.key === 'postfix');
  // The ratio of the last line is the MX as the issue defines the benchmark (checks on), else
  // the run without checks.
  const main = running.find((r) => r.system.key === 'stafette-checks') ?? running.find((r) => r.system.key === 'stafette');
  const deliveredOf = (r: Running) => median(r.runs.map((f) => f.delivered));
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const lines: string[] = [];
  lines.push(
    `End-to-end benchmark: smtp-source -s ${o.sessions} -m ${o.messages} -l ${o.size} (one session per message) → MTA → smtp-sink, ` +
      `${o.runs} measured run(s) per system after a 500-message warm-up, medians; latency from ${o.latencyMessages} marked messages over ${o.sessions} sessions; ` +
      `${cpus} CPUs, 1-min load average ${o.loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after; ${new Date().toISOString()}`,
  );
  lines.push('');
  lines.push(
    '| system | accepted/s | delivered/s | accepted → delivered p50 / p99 | CPU s per run (ms/msg) | peak memory | JetStream round trips per msg (to / from server) | delivered/s vs Postfix | check |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of running) {
    const accepted = median(r.runs.map((f) => f.accepted));
    const delivered = deliveredOf(r);
    const cpu = median(r.runs.map((f) => f.cpu));
    const rss = Math.max(...r.runs.map((f) => f.peakRss));
    const pss = Math.max(...r.runs.map((f) => f.peakPss));
    const ceiling = r.system.key === 'ceiling';
    const ratio = postfix && !ceiling ? `${(delivered / deliveredOf(postfix)).toFixed(2)}×` : '–';
    let latency = r.latency.length ? `${ms(quantile(r.latency, 0.5))} / ${ms(quantile(r.latency, 0.99))}` : '–';
    if (ceiling && r.latency.length) latency = `(method offset: ${latency})`;
    const cpuText = ceiling ? '–' : `${cpu.toFixed(1)} (${((cpu / o.messages) * 1000).toFixed(2)})`;
    const parts = r.instance.cpuParts;
    const hwm = parts ? `; VmHWM ${parts.map((name, i) => `${name} ${mib(peakRssBytes([r.instance.pids[i]!]))}`).join(' + ')}` : '';
    const memText = ceiling ? '–' : `${mib(pss)} PSS (${mib(rss)} RSS${hwm})`;
    const trips = r.runs.map((f) => f.natsPerMessage).filter((t): t is NatsTraffic => t !== null);
    const tripsText = trips.length ? `${median(trips.map((t) => t.in)).toFixed(1)} / ${median(trips.map((t) => t.out)).toFixed(1)}` : '–';
    const pssRuns = r.runs.length > 1 && !ceiling ? ` (runs: ${r.runs.map((f) => mib(f.peakPss)).join(', ')})` : '';
    const runsText = r.runs.length > 1 ? ` (${r.runs.map((f) => f.delivered.toFixed(0)).join(', ')})` : '';
    const checks = [`${r.instance.delivered()} of ${r.sent} at the sink`, r.latencyNote];
    if (r.instance.cpuParts) {
      const parts = r.instance.cpuParts;
      checks.push(`CPU ${parts.map((name, i) => `${name} ${median(r.runs.map((f) => f.cpuEach[i]!)).toFixed(1)} s`).join(' + ')}`);
    }
    if (r.instance.check) checks.push(await r.instance.check());
    lines.push(
      `| ${r.system.label} | ${accepted.toFixed(0)} | **${delivered.toFixed(0)}**${runsText} | ${latency} | ${cpuText} | ${memText}${pssRuns} | ${tripsText} | ${ratio} | ${checks.join('; ')} |`,
    );
  }
  lines.push('');
  lines.push(
    "Notes: accepted/s = messages / smtp-source wall time; delivered/s = messages / time from smtp-source's start until smtp-sink's -c counter reached them all. " +
      "Latency: our client notes when it read each 250; smtp-sink -d dumps each message to tmpfs and the file's mtime is its arrival (the same method for every system). " +
      'CPU: utime+stime (+ reaped children) from /proc over the run, up to 1 s after the last delivery; Stafette = MTA + nats-server, Postfix = master and all its children. ' +
      "Peak memory: largest sum of PSS (shared pages divided among the processes sharing them) and of RSS over those processes, sampled every 200 ms; Postfix's ~10 processes share libraries, so its RSS sum over-counts; VmHWM = the kernel's own peak RSS of the MTA + nats-server. " +
      "JetStream round trips: in_msgs / out_msgs of the MTA's connections on nats-server's /connz over the run, per message (every request, publish, pull and ack is one message to the server). " +
      "The ceiling's latency is the method's own offset: the sink writes the file just before it answers 250, and the client reads the 250 a little later. " +
      `Stafette: stafette mta with ${o.deliveryWorkers === undefined ? 'its default number of' : o.deliveryWorkers} delivery workers and the chart's V8 flags (${[...chartMtaNodeOptions(), ...(process.env.STAFETTE_BENCH_MTA_NODE_OPTIONS ?? '').split(' ').filter(Boolean)].join(' ')}), mx listener with greeting pause 0 and no reverse DNS; the mx listener relays for nobody without AUTH, so b@example.test is a Stafette mailbox delivered by LMTP to smtp-sink -L (one hop; connections reused, mta/src/transport/lmtp.ts); ` +
      'Postfix relays by SMTP to smtp-sink (relayhost), caching connections when it has a backlog. ' +
      'With the MX checks on, the sender domain example.test has SPF (ip4:127.0.0.1) and DMARC (p=reject) records on a local dnsmasq, authoritative for the zone (negative answers carry an SOA), with a TTL of 300 s; the messages are unsigned (dkim=none). ' +
      `The last line's ratio is of ${main ? main.system.label : 'Stafette'}.`,
  );
  if (postfix && main) lines.push('', `delivered/s ratio vs Postfix: ${(deliveredOf(main) / deliveredOf(postfix)).toFixed(2)}`);
  return lines;
}

function ms(seconds: number): string {
  return Number.isNaN(seconds) ? '–' : `${(seconds * 1000).toFixed(1)} ms`;
}

runBench('bench', main);
