import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';
import { planConsumerUpdate, planStreamUpdate } from './config-plan.ts';
import { deliveryConsumerConfig, jobStreamConfig, queueSettings } from './settings.ts';

const settings = queueSettings();
const desired = jobStreamConfig(settings, 1024 * 1024);

// What the server returns for a stream created from `desired`: zero values omitted.
function existing(overrides: Partial<StreamConfig> = {}): StreamConfig {
  const { allow_rollup_hdrs: _omitted, ...rest } = desired;
  return { ...rest, sealed: false, ...overrides } as StreamConfig;
}

test('config plan - an identical stream needs nothing', () => {
  assert.deepEqual(planStreamUpdate(existing(), desired), { refuse: [], update: {} });
});

test('config plan - safe differences become an in-place update of just those fields', () => {
  const plan = planStreamUpdate(existing({ max_bytes: 5, duplicate_window: 1, deny_purge: false, subjects: ['other.>'] }), desired);
  assert.deepEqual(plan.refuse, []);
  assert.deepEqual(plan.update, { max_bytes: -1, duplicate_window: desired.duplicate_window, deny_purge: true, subjects: ['mail.queue.>'] });
});

test('config plan - settings that lose mail or cannot change in place are refused', () => {
  const cases: [Partial<StreamConfig>, RegExp][] = [
    [{ retention: RetentionPolicy.Limits }, /retention "limits"/],
    [{ retention: RetentionPolicy.Interest }, /retention "interest"/],
    [{ storage: StorageType.Memory }, /memory storage/],
    [{ max_age: 86_400 * 1e9 }, /max_age 86400s/],
    [{ max_msgs: 1000 }, /max_msgs 1000/],
    [{ max_msgs_per_subject: 1 }, /max_msgs_per_subject/],
    [{ discard: DiscardPolicy.Old, max_bytes: 1e9 }, /discard "old"/],
    [{ sealed: true }, /sealed/],
  ];
  for (const [override, reason] of cases) {
    const plan = planStreamUpdate(existing(override), desired);
    assert.equal(plan.refuse.length, 1, JSON.stringify(override));
    assert.match(plan.refuse[0]!, reason);
  }
});

test('config plan - discard "old" without a size limit is safe and gets fixed', () => {
  const plan = planStreamUpdate(existing({ discard: DiscardPolicy.Old, max_bytes: -1 }), desired);
  assert.deepEqual(plan.refuse, []);
  assert.deepEqual(plan.update, { discard: DiscardPolicy.New });
});

test('config plan - consumer: updatable fields are updated, the rest refused', () => {
  const want = deliveryConsumerConfig(settings);
  const same = { ...want, backoff: undefined, inactive_threshold: undefined } as unknown as ConsumerConfig;
  assert.deepEqual(planConsumerUpdate(same, want), { refuse: [], update: {} });

  const drifted = { ...same, ack_wait: 30e9, max_deliver: 5, backoff: [1e9, 2e9], inactive_threshold: 3600e9 } as ConsumerConfig;
  assert.deepEqual(planConsumerUpdate(drifted, want), {
    refuse: [],
    update: { ack_wait: want.ack_wait, max_deliver: -1, backoff: [], inactive_threshold: 0 },
  });

  assert.match(planConsumerUpdate({ ...same, ack_policy: AckPolicy.All }, want).refuse[0]!, /ack_policy/);
  assert.match(planConsumerUpdate({ ...same, deliver_subject: 'x' }, want).refuse[0]!, /push consumer/);
  assert.match(planConsumerUpdate({ ...same, filter_subject: 'mail.queue.job.>' }, want).refuse[0]!, /filters/);
});
