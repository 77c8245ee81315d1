// `npm run bench:limits`: what one MTA process holds and where intake says no (issue 15).
//
//   - Idle sessions (limits-idle.ts): --sessions concurrent sessions after EHLO on an MTA
//     whose mx listener serves exactly that many (--max-connections); RSS at 0, half and all,
//     KiB per idle session, and the first reply of the client one past the limit.
//   - Ramp (limits-ramp.ts): an open-loop load stepping the offered rate up (--rates), one
//     session per message, against a second MTA with its defaults (1,000 connections) that
//     delivers by LMTP to smtp-sink -L; offered vs accepted vs delivered per step, the MTA's
//     peak RSS, until --knee-share of a step's sessions got 4xx; then every accepted
//     message must reach the sink.
// Both MTAs: JetStream sync_interval always, greeting pause 0, no reverse DNS, inbound checks off.
// The load generator is one Node process on the same 2-CPU machine: past a few hundred
// sessions/s it competes with the MTA for CPU, so the knee is the machine's, not the MTA's alone.
import { mib, positive, runBench } from './bench-cli.ts';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, stopAll } from '../test/harness/process.ts';
import { startSink } from './e2e-sink.ts';
import { startStafetteE2e } from './e2e-stafette.ts';
import { measureIdleSessions } from './limits-idle.ts';
import { runRamp } from './limits-ramp.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const from = 'a@example.test';
const to = 'b@example.test';

const usage = `Usage: npm run bench:limits -- [options]
  --sessions <n>       concurrent idle sessions (default 2000)
  --rates <list>       offered messages/s per ramp step (default 50,100,200,400,800,1600)
  --step-seconds <n>   length of each ramp step (default 5)
  --knee-share <x>     stop after a step where this share got 4xx (default 0.05)
  --size <bytes>       message size (default 2048)
  --only <parts>       idle,ramp (default both)
  --out <file>         markdown report (default bench/results/limits.md)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '2000' },
      rates: { type: 'string', default: '50,100,200,400,800,1600' },
      'step-seconds': { type: 'string', default: '5' },
      'knee-share': { type: 'string', default: '0.05' },
      size: { type: 'string', default: '2048' },
      only: { type: 'string', default: 'idle,ramp' },
      out: { type: 'string', default: join(repoRoot, 'bench/results/limits.md') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const sessions = positive(values.sessions, 'sessions');
  const rates = values.rates.split(',').map((r) => positive(r, 'rates'));
  const stepSeconds = positive(values['step-seconds'], 'step-seconds');
  const kneeShare = Number(values['knee-share']);
  const size = positive(values.size, 'size');
  const only = values.only.split(',');
  const loadBefore = loadavg()[0]!;
  const root = mkdtempSync(join(tmpdir(), 'stafette-limits-'));
  const dumpRoot = mkdtempSync('/dev/shm/stafette-limits-');
  chmodSync(dumpRoot, 0o755); // smtp-sink dumps as nobody
  const lines: string[] = [];
  let ok = false;
  try {
    if (only.includes('idle')) {
      const dir = join(root, 'idle');
      mkdirSync(dir, { recursive: true });
      const mta = await startStafetteE2e({ dir, recipient: to, syncInterval: 'always', maxConnections: sessions, maxConnectionsPerIp: sessions + 100 });
      try {
        const r = await measureIdleSessions({ host: '127.0.0.1', port: mta.port, mtaPid: mta.pids[0]!, sessions, settleMs: 2000 });
        const [zero, half, all] = r.readings;
        const perSession = (a: { sessions: number; rss: number }, b: { sessions: number; rss: number }) =>
          ((b.rss - a.rss) / Math.max(1, b.sessions - a.sessions) / 1024).toFixed(1);
        lines.push(`### Idle sessions: ${sessions} after EHLO, one MTA process (--max-connections ${sessions}), intake only`, '');
        lines.push('| sessions open | MTA RSS | KiB per session (from 0) |', '|---|---|---|');
        for (const x of r.readings) lines.push(`| ${x.sessions} | ${mib(x.rss)} | ${x === zero ? '–' : perSession(zero!, x)} |`);
        lines.push('');
        lines.push(
          `KiB per idle session from ${half!.sessions} to ${all!.sessions}: ${perSession(half!, all!)}. ` +
            `Client ${sessions + 1} got: \`${r.overLimitReply}\`. Sessions that failed to open: ${r.failures}${r.firstFailure ? ` (${r.firstFailure})` : ''}.`,
          '',
        );
        console.error(lines.slice(-8).join('\n'));
      } finally {
        await mta.stop();
      }
    }
    if (only.includes('ramp')) {
      const dir = join(root, 'ramp');
      mkdirSync(dir, { recursive: true });
      const sink = await startSink({
        name: 'smtp-sink-limits',
        host: '127.0.0.2',
        port: await freePort('127.0.0.2'),
        lmtp: true,
        dumpDir: join(dumpRoot, 'ramp'),
        logDir: dir,
      });
      try {
        const mta = await startStafetteE2e({ dir, recipient: to, lmtp: { host: sink.host, port: sink.port }, syncInterval: 'always' });
        try {
          const r = await runRamp({
            target: { host: '127.0.0.1', port: mta.port, from, to },
            size,
            rates,
            stepSeconds,
            mtaPid: mta.pids[0]!,
            delivered: () => sink.delivered(),
            kneeShare,
            drainTimeoutMs: 300_000,
            sessionTimeoutMs: 60_000,
          });
          lines.push(
            `### Ramp: open-loop load, ${stepSeconds} s per step, one session per message of ${size} bytes, MTA defaults (1,000 connections), LMTP to smtp-sink -L`,
            '',
          );
          lines.push(
            '| offered/s | offered | accepted/s | 4xx/s | other failures | delivered/s | MTA peak RSS | in flight at step end |',
            '|---|---|---|---|---|---|---|---|',
          );
          for (const s of r.steps) {
            const per = (n: number) => (n / s.seconds).toFixed(0);
            lines.push(
              `| ${s.offeredPerSecond} | ${s.offered} | ${per(s.accepted)} | ${per(s.refused4xx)} | ${s.otherFailures}${s.firstOther ? ` (${s.firstOther})` : ''} | ${per(s.delivered)} | ${mib(s.peakRss)} | ${s.inFlightAtEnd} |`,
            );
          }
          lines.push('');
          lines.push(
            `Accepted ${r.acceptedTotal}, delivered ${r.deliveredTotal}` +
              (r.drainSeconds === null ? ' (NOT all delivered within 300 s)' : `, all delivered ${r.drainSeconds.toFixed(1)} s after the last step`) +
              '. A step lasts until its last session ended, so its per-second figures divide by that span.',
            '',
          );
        } finally {
          await mta.stop();
        }
      } finally {
        await sink.stop();
      }
    }
    const header = `Limits benchmark (\`npm run bench:limits\`), JetStream sync_interval always; 1-min load average ${loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after (a shared 2-CPU machine: noisy); ${new Date().toISOString()}`;
    const text = `${header}\n\n${lines.join('\n')}`;
    console.log(`\n${text}`);
    writeFileSync(values.out, text);
    ok = true;
  } finally {
    await stopAll();
    if (ok) rmSync(root, { recursive: true, force: true });
    else console.error(`logs kept in ${root}`);
    rmSync(dumpRoot, { recursive: true, force: true });
  }
  return 0;
}

runBench('bench:limits', main);
