// Graceful stop (docs/reliability.md §3 scenario 44): a process that stops while a transaction is
// in flight hands the job back at its deadline (NAK, redelivered once the stopping process's
// waiting pulls have expired: pull expiry + 1 s) instead of
// holding it until ack_wait; another process delivers it once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { queueConnectOptions } from '../../mta/src/queue/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

describe('delivery - graceful stop hands in-flight jobs back', () => {
  const dir = testDir('shutdown');
  let server: NatsServer;
  let q: QueueFixture;
  let slow: SmtpSink;
  let second: DeliveryHandle | undefined;
  let nc2: NatsConnection | undefined;

  before(async () => {
    server = await startNatsServer({ name: 'nats-shutdown' });
    q = await openDeliveryQueue(server.url, { ackWaitMs: 30_000 });
    slow = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, dataDelaySeconds: 2 });
  });
  after(async () => {
    await second?.stop(2_000);
    await nc2?.close();
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('stop with a deadline NAKs the job; another process delivers it once, long before ack_wait', { timeout: 60_000 }, async () => {
    const routes = { 'slow.test': { host: slow.host, port: slow.port } };
    const policy = retryPolicy({ delaysMs: [60_000] });
    const firstObserver = countingObserver();
    const first = await startTestDelivery(q, routes, { policy, observer: firstObserver, attemptTimeoutMs: 20_000 });
    await q.publisher.enqueue(
      acceptedMessage({
        envelope: { mailFrom: { address: 's@a.test', params: [] }, rcptTo: [{ address: 'u@slow.test', params: [] }] },
      }),
      Buffer.from('Subject: stop\r\nX-Test-Id: stop-1.\r\n\r\nHello.\r\n'),
    );
    await new Promise((resolve) => setTimeout(resolve, 700)); // the first process is in DATA now
    const t0 = Date.now();
    await first.stop(200);
    assert.equal(firstObserver.get('job:fresh:shutdown'), 1, 'the in-flight job was handed back');

    // A second process (its own connection) takes it over at once.
    nc2 = await connect(queueConnectOptions({ servers: server.url, name: 'second' }));
    second = await startTestDelivery({ ...q, nc: nc2 }, routes, { policy, attemptTimeoutMs: 20_000 });
    await waitFor('delivered by the second process', () => slow.count('stop-1.') === 1, { timeoutMs: 25_000 });
    console.log(`# stopped with a job in flight; delivered by the other process ${Date.now() - t0} ms later (ack_wait 30000 ms)`);
    assert.equal(slow.count('stop-1.'), 1);
  });
});
