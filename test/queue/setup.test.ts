// Queue setup against a real nats-server: idempotent, updates in place, never recreates,
// and refuses a stream that could lose mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { ensureQueue, isQueueError, queueConnectOptions, queueSettings } from '../../mta/src/queue/index.ts';

describe('queue - setup', () => {
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNatsServer({ name: 'nats-setup' });
    nc = await connect(queueConnectOptions({ servers: server.url, name: 'setup-test' }));
  });
  after(async () => {
    await nc?.close();
    await server?.destroy();
    await stopAll();
  });

  test('creates the streams and the consumer with the documented settings', async () => {
    const settings = queueSettings();
    assert.deepEqual(await ensureQueue(nc, settings), { jobStream: 'created', bodyStream: 'created', consumer: 'created' });
    const jsm = await jetstreamManager(nc);
    const { config } = await jsm.streams.info('MAILQ');
    assert.equal(config.storage, StorageType.File);
    assert.equal(config.retention, RetentionPolicy.Workqueue);
    assert.equal(config.discard, DiscardPolicy.New);
    assert.equal(config.max_age, 0);
    assert.equal(config.max_msg_size, nc.info!.max_payload);
    assert.equal(config.duplicate_window, settings.duplicateWindowMs * 1e6);
    assert.equal(config.deny_delete, true);
    assert.equal(config.deny_purge, true);
    const consumer = (await jsm.consumers.info('MAILQ', 'delivery')).config;
    assert.equal(consumer.ack_policy, AckPolicy.Explicit);
    assert.equal(consumer.ack_wait, settings.ackWaitMs * 1e6);
    assert.equal(consumer.max_deliver, -1);
    assert.equal(consumer.backoff, undefined);
    assert.equal(consumer.deliver_subject, undefined);
    assert.equal((await jsm.streams.info('OBJ_mailbody')).config.max_age, 0);
  });

  test('running it again changes nothing and does not recreate the stream', async () => {
    const jsm = await jetstreamManager(nc);
    await jetstream(nc).publish('mail.queue.job.marker', 'x', { msgID: 'marker' });
    const before = await jsm.streams.info('MAILQ');
    const consumerBefore = await jsm.consumers.info('MAILQ', 'delivery');
    assert.deepEqual(await ensureQueue(nc, queueSettings()), { jobStream: 'unchanged', bodyStream: 'unchanged', consumer: 'unchanged' });
    const afterInfo = await jsm.streams.info('MAILQ');
    assert.equal(afterInfo.created, before.created);
    assert.deepEqual(afterInfo.config, before.config);
    assert.equal(afterInfo.state.messages, before.state.messages);
    assert.equal((await jsm.consumers.info('MAILQ', 'delivery')).created, consumerBefore.created);
  });

  test('changed settings are applied in place, keeping the stream and its messages', async () => {
    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.info('MAILQ');
    const settings = queueSettings({ maxBytes: 512 * 1024 * 1024, ackWaitMs: 90_000, maxAckPending: 64 });
    assert.deepEqual(await ensureQueue(nc, settings), { jobStream: 'updated', bodyStream: 'unchanged', consumer: 'updated' });
    const afterInfo = await jsm.streams.info('MAILQ');
    assert.equal(afterInfo.created, before.created);
    assert.equal(afterInfo.config.max_bytes, 512 * 1024 * 1024);
    assert.equal(afterInfo.state.messages, before.state.messages);
    const consumer = (await jsm.consumers.info('MAILQ', 'delivery')).config;
    assert.equal(consumer.ack_wait, 90_000 * 1e6);
    assert.equal(consumer.max_ack_pending, 64);
  });

  test('concurrent setups from several pods agree', async () => {
    const settings = queueSettings({ streamName: 'MAILQ2', subjectPrefix: 'mail.queue2', bodyBucket: 'mailbody2' });
    const results = await Promise.all([1, 2, 3].map(() => ensureQueue(nc, settings)));
    assert.equal(results.filter((r) => r.jobStream === 'created').length >= 1, true);
    const jsm = await jetstreamManager(nc);
    assert.equal((await jsm.streams.info('MAILQ2')).config.retention, RetentionPolicy.Workqueue);
  });

  test('refuses a stream with limits retention and max_age, and leaves it untouched', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: 'UNSAFE',
      subjects: ['unsafe.queue.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: 3600 * 1e9,
    });
    await jetstream(nc).publish('unsafe.queue.job.one', 'mail');
    const before = await jsm.streams.info('UNSAFE');
    const settings = queueSettings({ streamName: 'UNSAFE', subjectPrefix: 'unsafe.queue', bodyBucket: 'unsafebody' });
    await assert.rejects(ensureQueue(nc, settings), (err: unknown) => {
      assert.ok(isQueueError(err));
      assert.equal(err.kind, 'setup');
      assert.match(err.message, /retention "limits"/);
      assert.match(err.message, /max_age 3600s/);
      return true;
    });
    const afterInfo = await jsm.streams.info('UNSAFE');
    assert.equal(afterInfo.created, before.created);
    assert.deepEqual(afterInfo.config, before.config);
    assert.equal(afterInfo.state.messages, 1);
  });

  test('refuses a delivery consumer that NATS cannot fix in place', async () => {
    const jsm = await jetstreamManager(nc);
    const settings = queueSettings({ streamName: 'MAILQ3', subjectPrefix: 'mail.queue3', bodyBucket: 'mailbody3' });
    await jsm.streams.add({ name: 'MAILQ3', subjects: ['mail.queue3.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    // A push consumer cannot become a pull consumer by an update.
    await jsm.consumers.add('MAILQ3', { durable_name: 'delivery', ack_policy: AckPolicy.Explicit, deliver_subject: 'push.delivery' });
    await assert.rejects(ensureQueue(nc, settings), (err: unknown) => isQueueError(err) && err.kind === 'setup' && /push consumer/.test(err.message));
    assert.equal((await jsm.consumers.info('MAILQ3', 'delivery')).config.deliver_subject, 'push.delivery');
  });
});
