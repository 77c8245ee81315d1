// The queue on a 3-node JetStream cluster (R3), and losing the stream leader: intake goes on
// after the election, and nothing acknowledged before is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { jobSubject, type AcceptedMessage } from '../../mta/src/queue/index.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

describe('queue - 3-node cluster', () => {
  let cluster: NatsCluster;
  let q: QueueFixture;

  before(async () => {
    cluster = await startNatsCluster(3);
    q = await openQueue(cluster.urls, { replicas: 3 });
  });
  after(async () => {
    await q?.close();
    await cluster?.destroy();
    await stopAll();
  });

  test('streams are created with three replicas', async () => {
    const jsm = await jetstreamManager(q.nc);
    const info = await jsm.streams.info('MAILQ');
    assert.equal(info.config.num_replicas, 3);
    assert.equal((await jsm.streams.info('OBJ_mailbody')).config.num_replicas, 3);
    assert.ok(info.cluster?.leader);
  });

  test('after the stream leader stops, enqueue works again and earlier jobs survive', async () => {
    const before: AcceptedMessage[] = [acceptedMessage(), acceptedMessage()];
    await q.publisher.enqueue(before[0]!, messageBody(1000));
    await q.publisher.enqueue(before[1]!, messageBody(2 * 1024 * 1024));

    const jsm = await jetstreamManager(q.nc);
    const leader = (await jsm.streams.info('MAILQ')).cluster?.leader;
    const leaderNode = cluster.servers.find((s) => s.name === leader);
    assert.ok(leaderNode, `leader ${leader} is one of ours`);
    await leaderNode.stop();

    // Within the publisher's budget: reconnect (if we were on that node) and a new leader.
    const after = await q.publisher.enqueue(acceptedMessage(), messageBody(1000));
    assert.equal(after.duplicate, false);
    for (const m of before) {
      const stored = await jsm.streams.getMessage('MAILQ', { last_by_subj: jobSubject(q.settings, m.queueId) });
      assert.ok(stored, `job ${m.queueId} survived the leader change`);
    }
    assert.notEqual((await jsm.streams.info('MAILQ')).cluster?.leader, leader);
  });
});
