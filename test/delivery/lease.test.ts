// A transaction longer than ack_wait (docs/reliability.md §3 scenario 7, compressed: ack_wait 2 s,
// the receiver holds DATA for 7 s): in-progress acks keep the job with its worker, so it is
// delivered exactly once and acked, never redelivered to a second worker meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

describe('delivery - lease kept alive during a long transaction', () => {
  const dir = testDir('lease');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let slow: SmtpSink;
  const observer = countingObserver();

  before(async () => {
    server = await startNatsServer({ name: 'nats-lease' });
    q = await openDeliveryQueue(server.url, { ackWaitMs: 2_000 });
    slow = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, dataDelaySeconds: 7 });
    delivery = await startTestDelivery(
      q,
      { 'slow.test': { host: slow.host, port: slow.port } },
      {
        policy: retryPolicy({ delaysMs: [60_000] }),
        observer,
        workers: 4,
        attemptTimeoutMs: 30_000,
      },
    );
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a 7 s transaction with a 2 s ack_wait is delivered once, acked, not redelivered', { timeout: 60_000 }, async () => {
    await q.publisher.enqueue(
      acceptedMessage({
        envelope: { mailFrom: { address: 's@a.test', params: [] }, rcptTo: [{ address: 'u@slow.test', params: [] }] },
      }),
      Buffer.from('Subject: slow\r\nX-Test-Id: lease-1.\r\n\r\nHello.\r\n'),
    );
    await waitFor('delivered', () => slow.count('lease-1.') >= 1, { timeoutMs: 30_000 });
    await waitFor('acked', () => observer.get('job:fresh:acked') === 1, { timeoutMs: 10_000 });
    await sleep(3_000); // a lost lease would show up as a second delivery by now
    assert.equal(slow.count('lease-1.'), 1);
    assert.equal(observer.get('job:fresh:lease_lost'), 0);
    const ci = await (await jetstreamManager(q.nc)).consumers.info(q.settings.streamName, q.settings.consumerName);
    assert.equal(ci.num_redelivered, 0, 'JetStream never redelivered it');
  });
});
