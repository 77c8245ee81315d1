// No head-of-line blocking (docs/architecture.md §2 contract 3): 5,000 messages deferred to a dead domain
// (nothing listens on its MX: connection refused) while 500 messages to a live domain (a real
// smtp-sink) are all delivered. The deferred ones wait as scheduled messages in MAILQ_DEFER:
// they hold no ack-pending slot of either consumer (asserted), so fresh mail flows. Timings
// are printed for the report, never asserted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, streamMessages, testDir } from './delivery-fixture.ts';

const deadCount = 5_000;
const liveCount = 500;
const rcpt = (address: string) => ({ address, params: [] });
const body = (id: string) => Buffer.from(`From: <s@senders.test>\r\nSubject: load\r\nX-Test-Id: ${id}\r\n\r\nHello.\r\n`);

async function enqueueMany(q: QueueFixture, n: number, domain: string, tag: string): Promise<void> {
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
        q.publisher.enqueue(
          acceptedMessage({ envelope: { mailFrom: rcpt('s@senders.test'), rcptTo: [rcpt(`u${i + j}@${domain}`)] } }),
          body(`${tag}-${i + j}.`),
        ),
      ),
    );
  }
}

describe('delivery - no head-of-line blocking', () => {
  const dir = testDir('nohol');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let live: SmtpSink;
  let hole: SmtpSink;
  const observer = countingObserver();

  before(async () => {
    server = await startNatsServer({ name: 'nats-nohol' });
    q = await openDeliveryQueue(server.url, { maxAckPending: 1000 });
    live = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir });
    const deadPort = await freePort('127.0.0.7'); // nothing listens here: connection refused
    hole = await startSmtpSink({ host: '127.0.0.8', behaviour: 'hang', dir }); // a black hole: DATA never answered
    delivery = await startTestDelivery(
      q,
      {
        'live.test': { host: live.host, port: live.port },
        'dead.test': { host: '127.0.0.7', port: deadPort },
        'hole.test': { host: hole.host, port: hole.port },
      },
      { policy: retryPolicy({ delaysMs: [10 * 60_000] }), observer, workers: 8, attemptTimeoutMs: 5_000 },
    );
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test(`${deadCount} deferred to a dead domain do not delay ${liveCount} to a live one`, { timeout: 540_000 }, async () => {
    // Baseline: the same 500 with nothing deferred.
    const b0 = Date.now();
    await enqueueMany(q, liveCount, 'live.test', 'base');
    await waitFor(`${liveCount} baseline delivered`, () => live.count('base-') >= liveCount, { timeoutMs: 120_000, intervalMs: 100 });
    console.log(`# baseline: ${liveCount} to the live domain, nothing deferred: all delivered ${Date.now() - b0} ms after the first enqueue`);

    const t0 = Date.now();
    await enqueueMany(q, deadCount, 'dead.test', 'dead');
    const enqueued = Date.now();
    await waitFor(
      `${deadCount} deferred`,
      async () => (await streamMessages(q, delivery.streams.deferStream)) === deadCount && (await streamMessages(q, q.settings.streamName)) === 0,
      { timeoutMs: 300_000, intervalMs: 500 },
    );
    const deferred = Date.now();
    console.log(`# ${deadCount} to the dead domain: enqueued in ${enqueued - t0} ms, all deferred after ${deferred - t0} ms`);

    const jsm = await jetstreamManager(q.nc);
    const t1 = Date.now();
    await enqueueMany(q, liveCount, 'live.test', 'live');
    const liveEnqueued = Date.now();
    let maxRetryAckPending = 0;
    await waitFor(
      `${liveCount} delivered`,
      async () => {
        const ci = await jsm.consumers.info(delivery.streams.deferStream, delivery.streams.retryConsumer);
        maxRetryAckPending = Math.max(maxRetryAckPending, ci.num_ack_pending);
        return live.count('live-') >= liveCount;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const done = Date.now();
    console.log(
      `# ${liveCount} to the live domain with ${deadCount} deferred: enqueued in ${liveEnqueued - t1} ms, all delivered ${done - t1} ms after the first enqueue`,
    );

    assert.equal(live.count('live-'), liveCount, 'every live message delivered once');
    assert.equal(await streamMessages(q, delivery.streams.deferStream), deadCount, 'the dead-domain mail is still queued, waiting');
    assert.equal(maxRetryAckPending, 0, 'waiting retries hold no ack-pending slots');
    // The sink sees a message just before the worker's ack lands: wait (bounded) for the acks.
    await waitFor(
      'every fresh job acked',
      async () => {
        const fresh = await jsm.consumers.info(q.settings.streamName, q.settings.consumerName);
        return fresh.num_ack_pending === 0 && fresh.num_pending === 0;
      },
      { timeoutMs: 10_000 },
    );
  });

  test('a black-hole domain mixed into fresh mail holds workers for one attempt deadline, not per message', { timeout: 300_000 }, async () => {
    // 2,000 to a server that accepts connections and never answers DATA, interleaved with 500
    // to the live domain. After the first attempts time out (5 s here) the dead-destination
    // cache defers the rest without trying, so the live mail is not stuck behind them.
    const holeCount = 2_000;
    const t0 = Date.now();
    for (let i = 0; i < holeCount + liveCount; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const n = i + j;
          const toLive = n % 5 === 4;
          const domain = toLive ? 'live.test' : 'hole.test';
          return q.publisher.enqueue(
            acceptedMessage({ envelope: { mailFrom: rcpt('s@senders.test'), rcptTo: [rcpt(`m${n}@${domain}`)] } }),
            body(`${toLive ? 'mixed' : 'hole'}-${n}.`),
          );
        }),
      );
    }
    const enqueued = Date.now();
    await waitFor(`${liveCount} mixed live delivered`, () => live.count('mixed-') >= liveCount, { timeoutMs: 240_000, intervalMs: 200 });
    const done = Date.now();
    console.log(
      `# ${holeCount} to a black hole interleaved with ${liveCount} live: enqueued in ${enqueued - t0} ms, all live delivered ${done - t0} ms after the first enqueue; attempts made at the black hole: ${observer.get('deferred:mx:hole.test')}, deferred untried: ${observer.get('skipped:mx:hole.test')}`,
    );
    assert.equal(live.count('mixed-'), liveCount);
  });
});
