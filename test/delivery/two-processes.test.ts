// Two MTA processes consume the same queue: every message is delivered once. Then kill -9 of
// one of them while transactions are in flight (the receiver holds each DATA for a second):
// its jobs are redelivered to the other after ack_wait and delivered; duplicates are counted
// and printed (at-least-once: docs/architecture.md §2 contract 2), never silently lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { startProcess, stopAll, waitFor, type ManagedProcess } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { openDeliveryQueue, streamMessages, testDir } from './delivery-fixture.ts';

const rcpt = (address: string) => ({ address, params: [] });
const repo = resolve(import.meta.dirname, '../..');

describe('delivery - two processes share the queue', () => {
  const dir = testDir('twoproc');
  let server: NatsServer;
  let q: QueueFixture;
  let sink: SmtpSink;
  const procs: Record<string, ManagedProcess> = {};

  function startMta(name: string): ManagedProcess {
    return startProcess(name, process.execPath, [join(repo, 'test/delivery/delivery-process.ts')], {
      logDir: dir,
      env: {
        ...process.env,
        NAME: name,
        NATS_URL: server.url,
        WORKERS: '4',
        ACK_WAIT_MS: '5000',
        ROUTES: JSON.stringify({ 'slow.test': { host: sink.host, port: sink.port } }),
      },
    });
  }
  const logOf = (p: ManagedProcess) => readFileSync(p.logFile, 'utf8');
  async function enqueue(n: number, tag: string): Promise<void> {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, (_, j) =>
          q.publisher.enqueue(
            acceptedMessage({ envelope: { mailFrom: rcpt('s@senders.test'), rcptTo: [rcpt(`u${i + j}@slow.test`)] } }),
            Buffer.from(`From: <s@senders.test>\r\nSubject: x\r\nX-Test-Id: ${tag}-${i + j}.\r\n\r\nHello.\r\n`),
          ),
        ),
      );
    }
  }
  // Deliveries per test id, read from the sink's dumps.
  function tally(tag: string): { unique: number; total: number; duplicates: number; byProcess: Record<string, number> } {
    const seen = new Map<string, number>();
    const byProcess: Record<string, number> = {};
    for (const m of sink.messages()) {
      const id = new RegExp(`X-Test-Id: (${tag}-\\d+)\\.`).exec(m)?.[1];
      if (!id) continue;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const helo = /X-Helo-Args: (\S+)/.exec(m)?.[1] ?? '?';
      byProcess[helo] = (byProcess[helo] ?? 0) + 1;
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    return { unique: seen.size, total, duplicates: total - seen.size, byProcess };
  }

  before(async () => {
    server = await startNatsServer({ name: 'nats-twoproc' });
    q = await openDeliveryQueue(server.url);
    sink = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, dataDelaySeconds: 1 });
    procs.a = startMta('mta-a');
    procs.b = startMta('mta-b');
    for (const p of Object.values(procs)) await waitFor(`${p.name} ready`, () => logOf(p).includes('"msg":"ready"'), { timeoutMs: 30_000 });
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('every message is delivered once, by both processes', { timeout: 180_000 }, async () => {
    const n = 200;
    await enqueue(n, 'both');
    await waitFor(`${n} delivered`, () => tally('both').unique === n, { timeoutMs: 150_000, intervalMs: 250 });
    await waitFor('all acked', async () => (await streamMessages(q, q.settings.streamName)) === 0, { timeoutMs: 15_000 });
    const t = tally('both');
    console.log(`# two processes, ${n} messages: ${JSON.stringify(t)}`);
    assert.equal(t.duplicates, 0);
    assert.ok(Object.keys(t.byProcess).length === 2, 'both processes delivered');
  });

  test('kill -9 of one process mid-transaction: the other delivers its messages; duplicates counted', { timeout: 240_000 }, async () => {
    const n = 200;
    const t0 = Date.now();
    await enqueue(n, 'kill');
    await waitFor('some deliveries', () => tally('kill').unique >= 40, { timeoutMs: 60_000, intervalMs: 50 });
    procs.a!.child.kill('SIGKILL'); // by PID, mid-transaction: its 4 workers each hold a job in DATA
    const killedAt = Date.now();
    await procs.a!.exited;
    const atKill = tally('kill');
    await waitFor(`${n} delivered after the kill`, () => tally('kill').unique === n, { timeoutMs: 180_000, intervalMs: 250 });
    await waitFor('all acked', async () => (await streamMessages(q, q.settings.streamName)) === 0, { timeoutMs: 30_000 });
    const t = tally('kill');
    console.log(
      `# kill -9 after ${killedAt - t0} ms with ${atKill.unique} of ${n} delivered; finished ${Date.now() - killedAt} ms later: ${JSON.stringify(t)}`,
    );
    assert.equal(t.unique, n, 'nothing lost');
    await procs.b!.stop('SIGTERM', 10_000);
    const summary = logOf(procs.b!)
      .split('\n')
      .find((l) => l.includes('"msg":"summary"'));
    console.log(`# survivor summary: ${summary}`);
  });
});
