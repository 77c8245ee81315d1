// `npm run bench:memory`: where one MTA process's memory goes, under a bounded load and
// without Postfix beside it (docs/performance.md §2.4.2). The same Stafette as `npm run bench`
// (bench/e2e-stafette.ts: nats-server with sync_interval always, LMTP to smtp-sink -L), then:
//
//   - idle: RSS and PSS (/proc/<pid>/smaps_rollup) and the V8 heap (/metrics) once ready and
//     settled, before any mail;
//   - --runs rounds of smtp-source (-s <sessions> -m <messages>), each waited on until the sink
//     has counted every message: peak PSS / RSS during the round (sampled every 200 ms), then
//     PSS, RSS and heap after it settled;
//   - with --snapshots DIR, a V8 heap snapshot of the MTA after the first and after the last
//     round (--heapsnapshot-signal; a snapshot collects garbage first, so it holds what is
//     retained), to compare with `bench/heap-diff.ts first last`;
//   - nats-server beside it the same way (peak and settled PSS / RSS), and its Go runtime's
//     memory from its profiling port (heap in use, idle and not yet released, released), so a
//     growth of the pair can be told apart (issue 15: the end-to-end bench's MTA + nats PSS grew
//     run over run).
//
// Every wait is bounded (--timeout); every process started is stopped.
import { mib, positive, runBench } from './bench-cli.ts';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort, stopAll } from '../test/harness/process.ts';
import { startSink } from './e2e-sink.ts';
import { chartMtaNodeOptions, metricValue, startStafetteE2e } from './e2e-stafette.ts';
import { cpuSeconds, sampleMemory } from './proc-stats.ts';
import { runSmtpSource } from './smtp-load.ts';

const usage = `Usage: npm run bench:memory -- [options]
  --messages <n>          messages per round (default 3000)
  --sessions <n>          parallel SMTP sessions (default 20)
  --runs <n>              rounds (default 3)
  --settle <seconds>      wait before each after-round figure (default 5)
  --delivery-workers <n>  the MTA's delivery workers (default: its own default)
  --node-options <flags>  more node options for the MTA, after the chart's V8 flags; e.g.
                          "--max-old-space-size=0 --max-semi-space-size=0" for V8's own sizing
  --snapshots <dir>       write heap snapshots after the first and last round there
  --nats-profiles <dir>   write nats-server's Go heap profile after each round there
                          (go tool pprof -top -sample_index=inuse_space [-diff_base A] B)
  --timeout <seconds>     limit for each round (default 300)`;

const from = 'a@example.test';
const to = 'b@example.test';

interface Figures {
  rss: number;
  pss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Resident bytes by kind of mapping: malloc's [heap], other anonymous memory, files (code). */
  brk: number;
  anon: number;
  file: number;
  /** V8's heap spaces: total size (committed) in bytes by space. */
  spaces: Map<string, number>;
}

interface NatsFigures {
  rss: number;
  pss: number;
  /** The Go runtime's MemStats (pprof heap?debug=1): heap in use, idle (kept, not yet released), released to the OS, all it obtained. */
  heapInuse: number;
  heapIdle: number;
  heapReleased: number;
  sys: number;
  /** Messages and distinct subjects per JetStream stream (/jsz). */
  streams: string;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '3000' },
      sessions: { type: 'string', default: '20' },
      runs: { type: 'string', default: '3' },
      settle: { type: 'string', default: '5' },
      'delivery-workers': { type: 'string' },
      'node-options': { type: 'string', default: '' },
      snapshots: { type: 'string' },
      'nats-profiles': { type: 'string' },
      timeout: { type: 'string', default: '300' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const messages = positive(values.messages, 'messages');
  const sessions = positive(values.sessions, 'sessions');
  const runs = positive(values.runs, 'runs');
  const settleMs = positive(values.settle, 'settle') * 1000;
  const timeoutMs = positive(values.timeout, 'timeout') * 1000;
  const deliveryWorkers = values['delivery-workers'] === undefined ? undefined : positive(values['delivery-workers'], 'delivery-workers');
  const snapshots = values.snapshots;
  if (snapshots) mkdirSync(snapshots, { recursive: true });
  const natsProfiles = values['nats-profiles'];
  if (natsProfiles) mkdirSync(natsProfiles, { recursive: true });
  const nodeOptions = [
    ...values['node-options'].split(' ').filter(Boolean),
    ...(snapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`] : []),
  ];

  const root = mkdtempSync(join(tmpdir(), 'stafette-memory-'));
  const dumpRoot = mkdtempSync('/dev/shm/stafette-memory-');
  const loadBefore = loadavg()[0]!;
  try {
    const sink = await startSink({ name: 'smtp-sink-lmtp', host: '127.0.0.2', port: await freePort('127.0.0.2'), lmtp: true, dumpDir: dumpRoot, logDir: root });
    const profPort = await freePort();
    const mta = await startStafetteE2e({
      dir: root,
      recipient: to,
      lmtp: { host: sink.host, port: sink.port },
      syncInterval: 'always',
      deliveryWorkers,
      nodeOptions,
      natsExtraConfig: `prof_port: ${profPort}`,
    });
    const pid = mta.pids[0]!;
    const natsPid = mta.pids[1]!;
    const natsFigures = async (): Promise<NatsFigures> => {
      const { rss, pss } = rollup(natsPid);
      const text = await (await fetch(`http://127.0.0.1:${profPort}/debug/pprof/heap?debug=1`)).text();
      const stat = (name: string) => Number(new RegExp(`^# ${name} = (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      const jsz = (await (await fetch(`http://127.0.0.1:${mta.natsMonitorPort}/jsz?streams=true`)).json()) as {
        account_details?: { stream_detail?: { name: string; state: { messages: number; num_subjects?: number } }[] }[];
      };
      const streams = (jsz.account_details ?? [])
        .flatMap((a) => a.stream_detail ?? [])
        .map((d) => `${d.name} ${d.state.messages} / ${d.state.num_subjects ?? 0}`)
        .join(', ');
      return { rss, pss, heapInuse: stat('HeapInuse'), heapIdle: stat('HeapIdle'), heapReleased: stat('HeapReleased'), sys: stat('Sys'), streams };
    };
    const showNats = (f: NatsFigures) =>
      `nats-server PSS ${mib(f.pss)}, RSS ${mib(f.rss)}; Go heap in use ${mib(f.heapInuse)}, idle not released ${mib(f.heapIdle - f.heapReleased)}, released ${mib(f.heapReleased)}, Sys ${mib(f.sys)}; ` +
      `streams (messages / subjects): ${f.streams}`;
    const figures = async (): Promise<Figures> => {
      const text = await mta.metrics();
      return {
        ...rollup(pid),
        heapUsed: metricValue(text, 'nodejs_heap_size_used_bytes'),
        heapTotal: metricValue(text, 'nodejs_heap_size_total_bytes'),
        external: metricValue(text, 'nodejs_external_memory_bytes'),
        ...mappings(pid),
        spaces: heapSpaces(text),
      };
    };
    // Other anonymous memory less V8's committed heap: malloc's thread arenas, large (mmap'd) allocations, stacks.
    const show = (f: Figures) =>
      `PSS ${mib(f.pss)}, RSS ${mib(f.rss)}, heap used ${mib(f.heapUsed)} of ${mib(f.heapTotal)}, external ${mib(f.external)}; resident: [heap] ${mib(f.brk)}, other anonymous ${mib(f.anon)} (${mib(Math.max(0, f.anon - f.heapTotal))} outside V8's heap), files ${mib(f.file)}; V8 spaces ${[...f.spaces].map(([k, v]) => `${k} ${mib(v)}`).join(', ')}`;

    await sleep(settleMs);
    const lines = [`idle: ${show(await figures())}; ${showNats(await natsFigures())}`];
    console.error(lines[0]);
    let sent = 0;
    for (let run = 1; run <= runs; run++) {
      const memory = sampleMemory([pid]);
      const natsMemory = sampleMemory([natsPid]);
      const bothMemory = sampleMemory([pid, natsPid]);
      const cpuBefore = cpuSeconds([pid]);
      await runSmtpSource({ host: '127.0.0.1', port: mta.port, messages, sessions, size: 2048, from, to }, timeoutMs);
      sent += messages;
      const deadline = Date.now() + timeoutMs;
      while (sink.delivered() < sent) {
        if (Date.now() > deadline) throw new Error(`round ${run}: the sink counted ${sink.delivered()} of ${sent} after ${timeoutMs / 1000} s`);
        await sleep(50);
      }
      const peak = memory.stop();
      const natsPeak = natsMemory.stop();
      const bothPeak = bothMemory.stop();
      const cpuMs = ((cpuSeconds([pid]) - cpuBefore) / messages) * 1000;
      sink.clearDumps();
      await sleep(settleMs);
      const line =
        `round ${run} (${messages} messages): peak PSS ${mib(peak.pss)}, RSS ${mib(peak.rss)} (nats-server ${mib(natsPeak.pss)} / ${mib(natsPeak.rss)}; ` +
        `MTA + nats-server ${mib(bothPeak.pss)} PSS), MTA CPU ${cpuMs.toFixed(2)} ms/msg; settled: ${show(await figures())}; ${showNats(await natsFigures())}`;
      lines.push(line);
      console.error(line);
      if (natsProfiles) {
        const file = join(natsProfiles, `nats-heap-round-${run}.pb.gz`);
        writeFileSync(file, Buffer.from(await (await fetch(`http://127.0.0.1:${profPort}/debug/pprof/heap`)).arrayBuffer()));
        lines.push(`  nats-server heap profile: ${file}`);
      }
      if (snapshots && (run === 1 || run === runs)) lines.push(`  heap snapshot: ${await snapshot(pid, snapshots, timeoutMs)}`);
    }
    lines.push(
      `MTA node options: ${[...chartMtaNodeOptions(), ...nodeOptions].join(' ')}; 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
    );
    console.log(lines.join('\n'));
    await mta.stop();
    await sink.stop();
  } finally {
    await stopAll();
    rmSync(dumpRoot, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
  return 0;
}

/** Asks the MTA for a heap snapshot and waits (bounded) until the file is written whole. */
async function snapshot(pid: number, dir: string, timeoutMs: number): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no heap snapshot in ${dir} after ${timeoutMs / 1000} s`);
    await sleep(500);
    const name = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
    if (!name) continue;
    const file = join(dir, name);
    const size = statSync(file).size;
    // V8 writes the snapshot in one pass; the file is whole when it ends its JSON and stops growing.
    if (size > 0 && size === lastSize && tail(file).trimEnd().endsWith('}')) return file;
    lastSize = size;
  }
}

/** nodejs_heap_space_size_total_bytes by space, the larger ones. */
function heapSpaces(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)) {
    if (Number(m[2]) >= 1 << 20) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** RSS and PSS of one process in bytes (/proc/<pid>/smaps_rollup). */
function rollup(pid: number): { rss: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss') };
}

/** Resident bytes of the process by kind of mapping (/proc/<pid>/smaps). */
function mappings(pid: number): { brk: number; anon: number; file: number } {
  const out = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof out = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1]!;
      kind = name === '[heap]' ? 'brk' : name === '' || name.startsWith('[') ? 'anon' : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

function tail(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 64));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

runBench('bench:memory', main);
