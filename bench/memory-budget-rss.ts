// Peak RSS of a real MTA process (./cli/stafette.ts mta, intake only, a real nats-server) while
// clients send a large message at once (issue 14, item 1; issue 15). Usage:
//   node bench/memory-budget-rss.ts [budget MiB, default 256] [clients, default 20] [message bytes, default 25 MiB - 64 KiB]
// Measured 2026-12-02 on the 2-core dev machine, messages held whole: budget 256 MiB: RSS 203 ->
// peak 603 MiB, 5 x 250 and 15 x 451 4.3.2; budget 100000 (effectively none): 204 -> 1336 MiB,
// 20 x 250; streamed: 202 -> 387 MiB, 20 x 250. Ten 30 MB messages (256 10 30000000): held whole 196 -> 593 MiB, 4 x 250 and
// 6 x 451 4.3.2; streamed to the Object Store during DATA 190 -> 342 MiB, 10 x 250 (docs/reliability.md "Limits").
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { testMtaArgv } from '../test/harness/mta-argv.ts';
import { startNatsServer } from '../test/harness/nats-server.ts';
import { freePort, stopAll } from '../test/harness/process.ts';
import { sendMessage } from '../test/harness/smtp-send.ts';
const repo = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ab-rss-'));
// The examples with a 64 MiB message size limit (theirs is 25 MiB), so larger messages fit.
const examples = join(dir, 'examples');
cpSync(join(repo, 'examples'), examples, { recursive: true });
const domainFile = join(examples, '01-maildomain.yaml');
writeFileSync(domainFile, readFileSync(domainFile, 'utf8').replace('maxMessageSize: 25Mi', 'maxMessageSize: 64Mi'));
execFileSync(join(repo, 'bin/stafette'), ['render', examples, '--out', dir], { stdio: 'inherit' });
const nats = await startNatsServer({ name: 'nats-rss', maxPayload: 8 * 1024 * 1024 });
const mxPort = await freePort(),
  opsPort = await freePort();
const budget = process.argv[2] ?? '256';
const mta = spawn(
  process.execPath,
  testMtaArgv({
    configDir: join(dir, 'bundle'),
    secretDir: join(dir, 'bundle'),
    nats: nats.url,
    mxPort,
    opsPort,
    extra: ['--no-delivery', '--memory-budget-mib', budget],
  }),
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const rss = () => Number(readFileSync(`/proc/${mta.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;
for (let i = 0; i < 60; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok) break;
  } catch {
    // not listening yet
  }
  await sleep(500);
}
const start = rss();
let peak = start;
const t = setInterval(() => {
  peak = Math.max(peak, rss());
}, 20);
const clients = Number(process.argv[3] ?? '20');
const size = Number(process.argv[4] ?? String(25 * 1024 * 1024 - 64 * 1024));
const line = 'x'.repeat(76) + '\r\n';
const msg = Buffer.from('Subject: big\r\n\r\n' + line.repeat(Math.floor(size / line.length)));
const replies = await Promise.all(
  Array.from({ length: clients }, () => sendMessage({ host: '127.0.0.1', port: mxPort, from: 's@remote.example', to: ['alice@example.com'], message: msg })),
);
clearInterval(t);
const codes = new Map<string, number>();
for (const r of replies) codes.set(r.slice(0, 9), (codes.get(r.slice(0, 9)) ?? 0) + 1);
console.log(`budget ${budget} MiB, ${clients} x ${size} bytes: RSS ${start.toFixed(0)} -> peak ${peak.toFixed(0)} MiB; replies ${JSON.stringify([...codes])}`);
mta.kill('SIGTERM');
await sleep(1000);
await nats.destroy();
await stopAll();
process.exit(0);
