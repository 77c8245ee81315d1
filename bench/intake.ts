// `npm run bench:intake`: how fast Stafette's intake accepts mail, next to Postfix accepting
// the same load on the same machine in the same run (docs/performance.md §2).
//
// Load: smtp-source -s 20 -m <messages> -l 2048 (one SMTP session per message, 20 in
// parallel); accepted/s = messages / smtp-source wall time. Then p50/p99 of the time from the
// end of DATA to the 250, from our own client (smtp-source does not report it), over the
// same number of parallel sessions, and over one session (the unloaded cost). All systems run
// side by side and take turns, run by run (a warm-up round first):
//   - Stafette with JetStream sync_interval: always (an fsync per write, like Postfix's fsync
//     before 250; what docs/reliability.md §4 asks for in production);
//   - Stafette with JetStream's default sync (flush every 2 min: faster, weaker);
//   - Stafette (default sync) with the inbound checks on (SPF, DKIM, ARC, DMARC by mailauth,
//     docs/mail-standards.md §1) against a dnsmasq serving the sender domain's SPF and DMARC
//     records, once with a 300 s TTL (the DNS cache answers) and once with TTL 0 (every message
//     asks dnsmasq again): what the checks cost per message, next to the same intake without them;
//   - Postfix 3.7 with defaults, relayhost = smtp-sink (it also delivers during its runs, and
//     is given time to finish delivering before the next system's turn).
// The sender is a@sender.bench (SPF passes from 127.0.0.1, DMARC p=reject passes by SPF), so
// the checked runs accept every message, as unchecked ones do.
// Stafette's mx listener runs with the greeting pause at 0 (the setting for trusted,
// in-cluster senders; the 100 ms default caps each connection at ~10 sessions/s), and
// without reverse DNS. Every count and wait is bounded. Prints a markdown table.
import { positive, runBench } from './bench-cli.ts';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { startDnsServer } from '../test/harness/dns-server.ts';
import { measureCheckCost, type CheckCost } from './check-cost.ts';
import { freePort, stopAll } from '../test/harness/process.ts';
import { startPostfix } from './postfix-instance.ts';
import { measureDataLatency, quantile, runSmtpSource, type LoadShape } from './smtp-load.ts';
import { startStafette } from './stafette-instance.ts';

const usage = `Usage: npm run bench:intake -- [options]
  --messages <n>          messages per smtp-source run (default 20000)
  --sessions <n>          parallel SMTP sessions (default 20)
  --size <bytes>          message size (default 2048)
  --latency-messages <n>  messages for the end-of-DATA latency client (default 2000)
  --runs <n>              smtp-source runs per system; the median is reported (default 1)
  --timeout <seconds>     limit for each smtp-source run and latency pass (default 300)
  --only <systems>        comma-separated: stafette-sync,stafette-default,stafette-checks,stafette-checks-uncached,postfix (default: all)`;

interface SystemUnderTest {
  readonly key: string;
  readonly label: string;
  start(dir: string): Promise<{ port: number; accepted?: () => Promise<number>; delivered?: () => number; stop(): Promise<void> }>;
}

interface Running {
  readonly system: SystemUnderTest;
  readonly instance: Awaited<ReturnType<SystemUnderTest['start']>>;
  readonly load: LoadShape;
  readonly before: number | undefined;
  sent: number;
  readonly rates: number[];
}

/**
 * Postfix goes on delivering to its sink after it accepted; wait (bounded) until it has, so
 * that work does not land in the next system's measurement. Stafette has no delivery yet.
 */
async function settle(r: Running): Promise<void> {
  const delivered = r.instance.delivered;
  if (!delivered) return;
  const deadline = Date.now() + 120_000;
  while (delivered() < r.sent && Date.now() < deadline) await sleep(200);
}

interface Measured {
  readonly label: string;
  readonly acceptedPerSecond: number[];
  readonly p50: number;
  readonly p99: number;
  /** The same latency with one session at a time: the unloaded cost of accepting a message. */
  readonly aloneP50: number;
  readonly aloneP99: number;
  readonly check: string;
}

const from = 'a@sender.bench';
const to = 'b@example.test';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      sessions: { type: 'string', default: '20' },
      size: { type: 'string', default: '2048' },
      'latency-messages': { type: 'string', default: '2000' },
      runs: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '300' },
      only: { type: 'string', default: 'stafette-sync,stafette-default,stafette-checks,stafette-checks-uncached,postfix' },
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
  const timeoutMs = positive(values.timeout, 'timeout') * 1000;
  const only = new Set(values.only.split(','));

  if (process.getuid?.() !== 0) throw new Error('the Postfix anchor needs root (postfix start binds and drops privileges)');
  const busy = execFileSync('sh', ['-c', 'pgrep -f "go build" || true'], { encoding: 'utf8' }).trim();
  if (busy) console.error('warning: a Go build is running; figures will be low and noisy');

  // The sender domain's records, for the checked runs (TTL 300: cached; TTL 0: not cacheable).
  const dkimKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dkimRecord = `v=DKIM1; k=rsa; p=${createPublicKey(dkimKey.privateKey).export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const senderTxt = { 'sender.bench': 'v=spf1 ip4:127.0.0.1 -all', '_dmarc.sender.bench': 'v=DMARC1; p=reject', 's1._domainkey.sender.bench': dkimRecord };
  const cachedDns = await startDnsServer({ local: ['bench'], txt: senderTxt, ttlSeconds: 300 });
  const uncachedDns = await startDnsServer({ local: ['bench'], txt: senderTxt });
  const all: SystemUnderTest[] = [
    {
      key: 'stafette-sync',
      label: 'Stafette, JetStream sync_interval always, inbound checks off',
      start: (dir) => startStafette({ dir, recipient: to, syncInterval: 'always', greetingDelayMs: 0 }),
    },
    {
      key: 'stafette-default',
      label: 'Stafette, JetStream default sync, inbound checks off',
      start: (dir) => startStafette({ dir, recipient: to, greetingDelayMs: 0 }),
    },
    {
      key: 'stafette-checks',
      label: 'Stafette, JetStream default sync, inbound checks on (DNS cached)',
      start: (dir) => startStafette({ dir, recipient: to, greetingDelayMs: 0, inboundChecksDns: cachedDns.address }),
    },
    {
      key: 'stafette-checks-uncached',
      label: 'Stafette, JetStream default sync, inbound checks on (TTL 0: DNS per message)',
      start: (dir) => startStafette({ dir, recipient: to, greetingDelayMs: 0, inboundChecksDns: uncachedDns.address }),
    },
    {
      key: 'postfix',
      label: 'Postfix 3.7, defaults, relayhost = smtp-sink',
      start: async (dir) => startPostfix({ dir, port: await freePort(), sinkPort: await freePort('127.0.0.2') }),
    },
  ];
  const systems = all.filter((s) => only.has(s.key));

  const loadBefore = loadavg()[0]!;
  const root = mkdtempSync(join(tmpdir(), 'stafette-bench-'));
  chmodSync(root, 0o755); // Postfix's daemons run as the postfix user and must reach their directories
  const results: Measured[] = [];
  let checkCost: CheckCost[] | undefined;
  const running: Running[] = [];
  try {
    for (const system of systems) {
      const dir = join(root, system.key);
      mkdirSync(dir, { recursive: true });
      console.error(`${system.label}: starting`);
      const instance = await system.start(dir);
      const load: LoadShape = { host: '127.0.0.1', port: instance.port, messages, sessions, size, from, to };
      running.push({ system, instance, load, before: await instance.accepted?.(), sent: 0, rates: [] });
    }
    // Round-robin runs: other work on a shared machine comes and goes, and interleaving
    // spreads it over every system instead of penalising whichever ran during a busy minute.
    for (let run = 0; run <= runs; run++) {
      for (const r of running) {
        const count = run === 0 ? Math.min(messages, 500) : messages; // run 0 warms up, unmeasured
        const seconds = await runSmtpSource({ ...r.load, messages: count }, timeoutMs);
        r.sent += count;
        await settle(r);
        if (run === 0) continue;
        r.rates.push(messages / seconds);
        console.error(`${r.system.label}: run ${run}: ${messages} messages in ${seconds.toFixed(2)} s = ${(messages / seconds).toFixed(0)}/s`);
      }
    }
    for (const r of running) {
      const latency = await measureDataLatency({ ...r.load, messages: latencyMessages }, timeoutMs);
      const alone = await measureDataLatency({ ...r.load, sessions: 1, messages: Math.min(latencyMessages, 500) }, timeoutMs);
      r.sent += latency.samples.length + alone.samples.length;
      await settle(r);
      if (latency.failures > 0) console.error(`${r.system.label}: ${latency.failures} latency messages failed, first: ${latency.firstFailure}`);
      let check = `${latency.failures + alone.failures} latency-client failures`;
      if (r.instance.accepted && r.before !== undefined) {
        check = `${(await r.instance.accepted()) - r.before} of ${r.sent} counted as accepted; ${check}`;
      }
      if (r.instance.delivered) check = `${r.instance.delivered()} of ${r.sent} reached the sink; ${check}`;
      results.push({
        label: r.system.label,
        acceptedPerSecond: r.rates,
        p50: quantile(latency.samples, 0.5),
        p99: quantile(latency.samples, 0.99),
        aloneP50: quantile(alone.samples, 0.5),
        aloneP99: quantile(alone.samples, 0.99),
        check,
      });
    }
    // The checks alone, in this process: CPU and wall time per message with a warm DNS cache.
    checkCost = await measureCheckCost({
      dns: cachedDns.address,
      from,
      to,
      size,
      count: Math.min(latencyMessages, 2000),
      dkim: { selector: 's1', privateKeyPem: dkimKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
  } finally {
    for (const r of running) await r.instance.stop();
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  }

  const postfix = results.find((r) => r.label.startsWith('Postfix'));
  const median = (xs: number[]) => quantile(xs, 0.5);
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  console.log(
    `\nIntake benchmark: ${messages} messages of ${size} bytes, ${sessions} parallel sessions, one session per message` +
      ` (smtp-source), median of ${runs} run(s); end of DATA → 250 from ${latencyMessages} messages of our client over ${sessions} sessions,` +
      ` and up to 500 over 1 session; ${cpus} CPUs, 1-min load average ${loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after` +
      ` (other work on the machine makes the figures noisy), ${new Date().toISOString()}\n`,
  );
  console.log(`| system | accepted/s (runs) | DATA → 250 p50 / p99, ${sessions} sessions | p50 / p99, 1 session | accepted/s vs Postfix | check |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    const ratio = postfix ? `${(median(r.acceptedPerSecond) / median(postfix.acceptedPerSecond)).toFixed(2)}×` : '–';
    const runsText = r.acceptedPerSecond.map((x) => x.toFixed(0)).join(', ');
    console.log(
      `| ${r.label} | **${median(r.acceptedPerSecond).toFixed(0)}** (${runsText}) | ${ms(r.p50)} / ${ms(r.p99)} | ${ms(r.aloneP50)} / ${ms(r.aloneP99)} | ${ratio} | ${r.check} |`,
    );
  }
  console.log(`
The inbound checks alone (mailauth through the DNS cache, warm, one message at a time, ${Math.min(latencyMessages, 2000)} messages of ${size} bytes):
`);
  console.log('| message | CPU per message | wall per message | verdict |');
  console.log('|---|---|---|---|');
  for (const c of checkCost ?? [])
    console.log(`| ${c.label} | ${(c.cpuMicrosPerMessage / 1000).toFixed(2)} ms | ${(c.wallMicrosPerMessage / 1000).toFixed(2)} ms | ${c.result} |`);
  return 0;
}

function ms(seconds: number): string {
  return Number.isNaN(seconds) ? '–' : `${(seconds * 1000).toFixed(2)} ms`;
}

runBench('bench:intake', main);
