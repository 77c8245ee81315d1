// Bounded work in delivery (docs/reliability.md "Limits"), against a real nats-server and a
// real SMTP receiver (smtp-sink), the engine in-process as in test/delivery:
//
//  - a ledger store that refuses writes after the remote 250 (MAILQ_DONE made full for real:
//    max_bytes 1 with discard new, so nats-server answers "maximum bytes exceeded") resends
//    nothing: the write is retried under the job's lease, and once the store takes writes
//    again the job is acked; the receiver counts one copy;
//  - a job that can never be settled (the ledger store stays full) is quarantined after
//    --max-deliveries deliveries, listed by the queue CLI's operations, and released.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { countQuarantined, listQuarantined, type QuarantinedJob } from '../../mta/src/delivery/quarantine.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { startOrphanCollector } from '../../mta/src/queue/orphan-collector.ts';
import { silentLogger } from '../../observability/logger.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from '../delivery/delivery-fixture.ts';

const bin = fileURLToPath(new URL('../../bin/stafette', import.meta.url));

/** ./bin/stafette as an operator runs it: exit status and output. */
function stafette(...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

describe('abuse - ledger failures and poison jobs', () => {
  const dir = testDir('abuse-ledger');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let sink: SmtpSink;
  const observer = countingObserver();

  /** Makes the ledger stream refuse (full) or take writes again. */
  async function ledgerFull(full: boolean): Promise<void> {
    const jsm = await jetstreamManager(q.nc);
    await jsm.streams.update(delivery.streams.doneStream, full ? { max_bytes: 1, discard: DiscardPolicy.New } : { max_bytes: -1, discard: DiscardPolicy.Old });
  }
  /** `padding` lines of 76 octets make a body large enough for the Object Store. */
  const send = async (id: string, padding = 0) =>
    await q.publisher.enqueue(
      acceptedMessage({ envelope: { mailFrom: { address: 's@a.test', params: [] }, rcptTo: [{ address: 'u@sink.test', params: [] }] } }),
      Buffer.from(`Subject: ledger\r\nX-Test-Id: ${id}.\r\n\r\nHello.\r\n${`${'x'.repeat(76)}\r\n`.repeat(padding)}`),
    );

  before(async () => {
    server = await startNatsServer({ name: 'nats-abuse-ledger' });
    q = await openDeliveryQueue(server.url, { ackWaitMs: 2_000 });
    sink = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir });
    delivery = await startTestDelivery(
      q,
      { 'sink.test': { host: sink.host, port: sink.port } },
      {
        policy: retryPolicy({ delaysMs: [60_000] }),
        observer,
        workers: 2,
        // Without the retry under the lease, a failed ledger write would hand the job back and
        // it would be resent after 300 ms; the retry budget here is longer than the outage.
        extra: { maxDeliveries: 3, ledgerRetryMs: 20_000, requeueDelayMs: 300 },
      },
    );
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a ledger store that fails after delivery resends nothing: the receiver counts one copy', { timeout: 60_000 }, async () => {
    await ledgerFull(true);
    await send('ledger-1');
    await waitFor('delivered', () => sink.count('ledger-1.') >= 1, { timeoutMs: 20_000 });
    await sleep(4_000); // two ack_waits: the job is kept under its lease, not redelivered
    assert.equal(observer.get('ledger'), 0, 'the ledger write has not gone through yet');
    await ledgerFull(false);
    await waitFor('acked', () => observer.get('job:fresh:acked') === 1, { timeoutMs: 20_000 });
    await sleep(2_000); // a redelivery would have shown by now
    assert.equal(sink.count('ledger-1.'), 1);
    assert.equal(observer.get('job:fresh:requeued'), 0);
    assert.equal(observer.get('job:fresh:lease_lost'), 0);
  });

  test('a job that can never be settled is quarantined after --max-deliveries and can be released', { timeout: 120_000 }, async () => {
    // A short retry budget, so each delivery ends in a hand-back.
    await delivery.stop(2_000);
    delivery = await startTestDelivery(
      q,
      { 'sink.test': { host: sink.host, port: sink.port } },
      { policy: retryPolicy({ delaysMs: [60_000] }), observer, workers: 2, extra: { maxDeliveries: 3, ledgerRetryMs: 500, requeueDelayMs: 300 } },
    );
    await ledgerFull(true); // after the start: setting up the streams restores their configuration
    const poison = await send('poison-1', 30_000); // 2.3 MB: its body is in the Object Store
    assert.equal(poison.bodyKind, 'object');
    const ctx = { nc: q.nc, streams: delivery.streams };
    await waitFor('quarantined', () => observer.get('job:fresh:quarantined') === 1, { timeoutMs: 60_000 });
    assert.equal(observer.get('job:fresh:requeued'), 3, 'handed back once per delivery, then set aside');
    assert.equal(await countQuarantined(ctx), 1);
    const [job] = await listQuarantined(ctx);
    assert.ok(job);
    assert.deepEqual(job.recipients, ['u@sink.test']);
    assert.equal(job.deliveries, 4);
    assert.match(job.reason, /delivered 4 times/);
    const copies = sink.count('poison-1.');
    await sleep(2_000);
    assert.equal(sink.count('poison-1.'), copies, 'nothing is attempted once quarantined');

    // The operator's view: `stafette queue quarantine list|show|release`.
    const listed = await stafette('queue', 'quarantine', 'list', '--json', '--nats', server.url);
    assert.equal(listed.status, 0, listed.out);
    assert.deepEqual(
      (JSON.parse(listed.out) as QuarantinedJob[]).map((j) => j.tag),
      [job.tag],
    );
    const shown = await stafette('queue', 'quarantine', 'show', job.tag, '--nats', server.url);
    assert.match(shown.out, /delivered 4 times without being settled/);
    assert.equal((await stafette('queue', 'quarantine', 'show', 'mail.>', '--nats', server.url)).status, 1, 'a malformed tag is refused');
    // However long it waits for a human, its body is not taken for an orphan.
    const collector = startOrphanCollector({
      nc: q.nc,
      settings: q.settings,
      bodyStore: q.bodyStore,
      logger: silentLogger,
      now: () => Date.now() + 2 * 3_600_000,
    });
    assert.equal(await collector.collect(), 0, 'a quarantined job keeps its body');
    collector.stop();
    await ledgerFull(false);
    const released = await stafette('queue', 'quarantine', 'release', job.tag, '--nats', server.url);
    assert.equal(released.status, 0, released.out);
    assert.match(released.out, /released/);
    await waitFor('released job acked', () => observer.get('job:fresh:acked') === 2, { timeoutMs: 20_000 });
    assert.equal(await countQuarantined(ctx), 0);
    assert.ok(sink.count('poison-1.') > copies, 'the released job was delivered from its kept body');
  });

  test('a record that makes the engine throw is quarantined after --max-deliveries, not retried for ever', { timeout: 120_000 }, async () => {
    await delivery.stop(2_000);
    const before = observer.get('job:fresh:quarantined');
    delivery = await startTestDelivery(
      q,
      { 'sink.test': { host: sink.host, port: sink.port } },
      {
        policy: retryPolicy({ delaysMs: [60_000] }),
        observer,
        workers: 2,
        extra: { maxDeliveries: 3, requeueDelayMs: 300 },
        // What a poison record does: something in the engine throws on it, every time.
        route: (base) => (record, recipients) => {
          if (record.envelope.mailFrom.address === 'poison@a.test') throw new TypeError("Cannot read properties of undefined (reading 'groups')");
          return base(record, recipients);
        },
      },
    );
    await q.publisher.enqueue(
      acceptedMessage({ envelope: { mailFrom: { address: 'poison@a.test', params: [] }, rcptTo: [{ address: 'u@sink.test', params: [] }] } }),
      Buffer.from('Subject: poison\r\nX-Test-Id: poison-2.\r\n\r\nHello.\r\n'),
    );
    await waitFor('quarantined', () => observer.get('job:fresh:quarantined') === before + 1, { timeoutMs: 60_000 });
    const ctx = { nc: q.nc, streams: delivery.streams };
    const [job] = await listQuarantined(ctx);
    assert.ok(job);
    assert.equal(job.sender, 'poison@a.test');
    assert.equal(job.deliveries, 4);
    await sleep(2_000);
    assert.equal(observer.get('job:fresh:quarantined'), before + 1, 'set aside once, not looped');
    assert.equal(sink.count('poison-2.'), 0);
    // Wiring restored for any test after this one.
    await delivery.stop(2_000);
    delivery = await startTestDelivery(
      q,
      { 'sink.test': { host: sink.host, port: sink.port } },
      { policy: retryPolicy({ delaysMs: [60_000] }), observer, workers: 2 },
    );
  });
});
