// Peak RSS of a real MTA process (./cli/stafette.ts mta, intake only, a real nats-server) while
// clients send a large message at once (issue 14, item 1; issue 15). Usage:
//   node bench/memory-budget-rss.ts [budget MiB, default 256] [clients, default 20] [message bytes, default 25 MiB - 64 KiB] [--deliver]
// --deliver: delivery on as well, alice's mail going over LMTP to a real Postfix smtp-sink
// (-L) on 127.0.0.3; the peak then covers intake and delivery until every message is at the
// sink (each checked by sha256 there). The largest V8 heap and external memory (Buffers) of the
// MTA are read from its /metrics (prom-client's nodejs_* gauges).
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
import { startSmtpSink, type SmtpSink } from '../test/harness/smtp-sink.ts';
import { createHash } from 'node:crypto';
const deliver = process.argv.includes('--deliver');
const args = process.argv.slice(2).filter((a) => a !== '--deliver');
const repo = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ab-rss-'));
// The examples with a 64 MiB message size limit (theirs is 25 MiB), so larger messages fit.
const examples = join(dir, 'examples');
cpSync(join(repo, 'examples'), examples, { recursive: true });
const domainFile = join(examples, '01-maildomain.yaml');
writeFileSync(domainFile, readFileSync(domainFile, 'utf8').replace('maxMessageSize: 25Mi', 'maxMessageSize: 64Mi'));
let sink: SmtpSink | null = null;
if (deliver) {
  sink = await startSmtpSink({ host: '127.0.0.3', behaviour: 'accept', dir, lmtp: true });
  const aliceFile = join(examples, '02-mailbox-alice.yaml');
  writeFileSync(
    aliceFile,
    readFileSync(aliceFile, 'utf8').replace(
      '  sendAs: ["@example.com"]',
      `  sendAs: ["@example.com"]\n  delivery:\n    lmtp:\n      host: 127.0.0.3\n      port: ${sink.port}`,
    ),
  );
}
execFileSync(join(repo, 'bin/stafette'), ['render', examples, '--out', dir, ...(deliver ? ['--allow-lmtp-host', '127.0.0.3'] : [])], { stdio: 'inherit' });
const nats = await startNatsServer({ name: 'nats-rss', maxPayload: 8 * 1024 * 1024 });
const mxPort = await freePort(),
  opsPort = await freePort();
const budget = args[0] ?? '256';
const mta = spawn(
  process.execPath,
  testMtaArgv({
    configDir: join(dir, 'bundle'),
    secretDir: join(dir, 'bundle'),
    nats: nats.url,
    mxPort,
    opsPort,
    extra: [...(deliver ? ['--allow-lmtp-host', '127.0.0.3'] : ['--no-delivery']), '--memory-budget-mib', budget],
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
// The MTA's own memory split (V8 heap used, external memory: Buffers) from its metrics, sampled
// every 250 ms: the largest seen of each.
const split = { heap: 0, external: 0 };
const gauge = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 1024 / 1024;
const t = setInterval(() => {
  peak = Math.max(peak, rss());
}, 20);
const metrics = setInterval(() => {
  fetch(`http://127.0.0.1:${opsPort}/metrics`)
    .then(async (r) => {
      const text = await r.text();
      split.heap = Math.max(split.heap, gauge(text, 'nodejs_heap_size_used_bytes'));
      split.external = Math.max(split.external, gauge(text, 'nodejs_external_memory_bytes'));
    })
    .catch(() => {});
}, 250);
const clients = Number(args[1] ?? '20');
const size = Number(args[2] ?? String(25 * 1024 * 1024 - 64 * 1024));
const line = 'x'.repeat(76) + '\r\n';
const msg = Buffer.from('Subject: big\r\n\r\n' + line.repeat(Math.floor(size / line.length)));
const wantSha = createHash('sha256').update(msg).digest('hex');
const replies = await Promise.all(
  Array.from({ length: clients }, () => sendMessage({ host: '127.0.0.1', port: mxPort, from: 's@remote.example', to: ['alice@example.com'], message: msg })),
);
const accepted = replies.filter((r) => r.startsWith('250')).length;
// Delivery: wait (at most 10 minutes) for every accepted message at the sink; each dump is the
// sink's fields, our Received/Authentication-Results, the message (LF line ends) and an empty line.
let intact = 0;
if (sink) {
  for (let i = 0; i < 300 && sink.messages().length < accepted; i++) await sleep(2000);
  for (const m of sink.messages()) {
    const at = m.indexOf('Subject: big\n');
    const sent = Buffer.from(m.slice(at, m.length - 1).replace(/\n/g, '\r\n'), 'latin1');
    if (at >= 0 && createHash('sha256').update(sent).digest('hex') === wantSha) intact++;
  }
}
clearInterval(t);
clearInterval(metrics);
const codes = new Map<string, number>();
for (const r of replies) codes.set(r.slice(0, 9), (codes.get(r.slice(0, 9)) ?? 0) + 1);
const f = (n: number) => n.toFixed(0);
console.log(
  `budget ${budget} MiB, ${clients} x ${size} bytes${deliver ? ', delivery on' : ''}: RSS ${f(start)} -> peak ${f(peak)} MiB; replies ${JSON.stringify([...codes])}` +
    (deliver ? `; delivered intact ${intact} of ${accepted}` : '') +
    `; largest heap used ${f(split.heap)}, external (Buffers included) ${f(split.external)} MiB`,
);
mta.kill('SIGTERM');
await sleep(1000);
await sink?.stop();
await nats.destroy();
await stopAll();
process.exit(0);
