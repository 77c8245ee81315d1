// Retries on a 3-node JetStream cluster (R3): a message deferred as a scheduled message in
// MAILQ_DEFER survives the loss of that stream's leader; the schedule fires on the new leader
// and the message is delivered once when its destination comes back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../harness/nats-server.ts';
import { freePort, stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { deferredStats, retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

describe('delivery - retries on a 3-node cluster', () => {
  const dir = testDir('cluster');
  let cluster: NatsCluster;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let port: number;
  const observer = countingObserver();

  before(async () => {
    cluster = await startNatsCluster(3);
    q = await openDeliveryQueue(cluster.urls, { replicas: 3 });
    port = await freePort('127.0.0.2'); // nothing listens yet: the first attempt is refused
    delivery = await startTestDelivery(
      q,
      { 'later.test': { host: '127.0.0.2', port } },
      {
        // The dead-destination cache would skip the domain for a minute after the refusal.
        policy: retryPolicy({ delaysMs: [4_000], jitter: 0 }),
        observer,
        deadDestinationMs: 1_000,
      },
    );
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await cluster?.destroy();
    await stopAll();
  });

  test('a waiting retry survives the loss of the retry stream leader and is delivered once', { timeout: 120_000 }, async () => {
    const jsm = await jetstreamManager(q.nc);
    assert.equal((await jsm.streams.info(delivery.streams.deferStream)).config.num_replicas, 3);
    assert.equal((await jsm.streams.info(delivery.streams.doneStream)).config.num_replicas, 3);

    await q.publisher.enqueue(
      acceptedMessage({
        envelope: { mailFrom: { address: 's@a.test', params: [] }, rcptTo: [{ address: 'u@later.test', params: [] }] },
      }),
      Buffer.from('Subject: cluster\r\nX-Test-Id: cluster-1.\r\n\r\nHello.\r\n'),
    );
    const ctx = { nc: q.nc, streams: delivery.streams };
    await waitFor('deferred', async () => (await deferredStats(ctx)).deferred === 1, { timeoutMs: 20_000 });

    const leader = (await jsm.streams.info(delivery.streams.deferStream)).cluster?.leader;
    const node = cluster.servers.find((s) => s.name === leader);
    assert.ok(node, `leader ${leader} is one of ours`);
    await node.stop();
    const sink = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, port });

    await waitFor('delivered after the leader change', () => sink.count('cluster-1.') === 1, { timeoutMs: 60_000, intervalMs: 250 });
    await sleep(2_000);
    assert.equal(sink.count('cluster-1.'), 1);
    const newLeader = (await jsm.streams.info(delivery.streams.deferStream)).cluster?.leader;
    assert.notEqual(newLeader, leader);
    console.log(`# retry stream leader ${leader} stopped; new leader ${newLeader}; deferred attempts ${observer.get('deferred:mx:later.test')}`);
  });
});
