import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { bodyStreamConfig, defaultQueueSettings, deliveryConsumerConfig, jobStreamConfig, jobSubject, queueSettings, streamSubjects } from './settings.ts';

test('settings - the job stream keeps mail until delivery acks it (docs/reliability.md §4)', () => {
  const c = jobStreamConfig(queueSettings({ replicas: 3, maxBytes: 10_000_000 }), 8 * 1024 * 1024);
  assert.equal(c.name, 'MAILQ');
  assert.deepEqual(c.subjects, ['mail.queue.>']);
  assert.equal(c.storage, StorageType.File);
  assert.equal(c.num_replicas, 3);
  assert.equal(c.retention, RetentionPolicy.Workqueue);
  assert.equal(c.discard, DiscardPolicy.New);
  assert.equal(c.max_bytes, 10_000_000);
  assert.equal(c.max_age, 0);
  assert.equal(c.max_msgs, -1);
  assert.equal(c.max_msg_size, 8 * 1024 * 1024);
  assert.equal(c.duplicate_window, 5 * 60 * 1e9);
  assert.equal(c.deny_delete, true);
  assert.equal(c.deny_purge, true);
});

test('settings - the body bucket never expires objects and refuses writes when full', () => {
  const c = bodyStreamConfig(defaultQueueSettings);
  assert.equal(c.name, 'OBJ_mailbody');
  assert.deepEqual(c.subjects, ['$O.mailbody.C.>', '$O.mailbody.M.>']);
  assert.equal(c.max_age, 0);
  assert.equal(c.discard, DiscardPolicy.New);
  assert.equal(c.storage, StorageType.File);
  assert.equal(c.allow_direct, true);
  assert.equal(c.allow_rollup_hdrs, true);
});

test('settings - the delivery consumer: explicit acks, no backoff, no give-up, never garbage-collected', () => {
  const c = deliveryConsumerConfig(queueSettings({ ackWaitMs: 60_000, maxAckPending: 40 }));
  assert.equal(c.durable_name, 'delivery');
  assert.equal(c.ack_policy, AckPolicy.Explicit);
  assert.equal(c.ack_wait, 60 * 1e9);
  assert.equal(c.max_deliver, -1);
  assert.deepEqual(c.backoff, []);
  assert.equal(c.max_ack_pending, 40);
  assert.equal(c.inactive_threshold, 0);
  assert.equal(c.deliver_subject, undefined);
  assert.equal(c.filter_subject, undefined);
});

test('settings - subjects', () => {
  assert.equal(jobSubject(defaultQueueSettings, '01KAQ3X5Z8D9T0M2N4P6R8S0TV'), 'mail.queue.job.01KAQ3X5Z8D9T0M2N4P6R8S0TV');
  assert.deepEqual(streamSubjects(queueSettings({ subjectPrefix: 'x.y' })), ['x.y.>']);
});

test('settings - invalid values are refused at start', () => {
  assert.throws(() => queueSettings({ replicas: 2 }), /replicas/);
  assert.throws(() => queueSettings({ maxBytes: 0 }), /maxBytes/);
  assert.throws(() => queueSettings({ ackWaitMs: -1 }), /ackWaitMs/);
  assert.throws(() => queueSettings({ streamName: 'a.b' }), /streamName/);
  assert.throws(() => queueSettings({ subjectPrefix: 'mail.*' }), /subjectPrefix/);
  assert.doesNotThrow(() => queueSettings({ replicas: 3, maxBytes: -1 }));
});
