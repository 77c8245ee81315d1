import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultRetryPolicy,
  expiresAtMs,
  formatDuration,
  formatSchedule,
  nextAttemptAtMs,
  parseDurationMs,
  parseSchedule,
  retryDelayMs,
  retryPolicy,
} from './retry-policy.ts';

const min = 60_000;
const noJitter = () => 0.5; // 2*0.5-1 = 0: the exact scheduled delay

test('the default schedule is 5m, 10m, 20m, 40m, 1h, 2h, 4h, then every 4h', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 30].map((n) => retryDelayMs(defaultRetryPolicy, n, noJitter) / min);
  assert.deepEqual(delays, [5, 10, 20, 40, 60, 120, 240, 240, 240, 240]);
});

test('the default lifetime is 5 days', () => {
  assert.equal(expiresAtMs(defaultRetryPolicy, 0), 5 * 24 * 60 * min);
});

test('jitter stays within ±10% and uses the injected randomness', () => {
  assert.equal(
    retryDelayMs(defaultRetryPolicy, 1, () => 0),
    4.5 * min,
  );
  assert.equal(
    retryDelayMs(defaultRetryPolicy, 1, () => 0.999999),
    Math.round(5 * min * (1 + 0.1 * (2 * 0.999999 - 1))),
  );
  for (let i = 0; i < 200; i++) {
    const d = retryDelayMs(defaultRetryPolicy, 3, Math.random);
    assert.ok(d >= 18 * min && d <= 22 * min, `${d}`);
  }
});

test('the next attempt is never after the expiry, and none is due after it', () => {
  const p = retryPolicy({ delaysMs: [10_000], jitter: 0, lifetimeMs: 25_000 });
  assert.equal(nextAttemptAtMs(p, 0, 1, 0, noJitter), 10_000);
  assert.equal(nextAttemptAtMs(p, 0, 2, 20_000, noJitter), 25_000, 'clamped to the expiry: one last attempt then');
  assert.equal(nextAttemptAtMs(p, 0, 3, 25_000, noJitter), null, 'expired: bounce');
});

test('durations and schedules parse as the docs write them; bad ones are refused', () => {
  assert.equal(parseDurationMs('30s'), 30_000);
  assert.equal(parseDurationMs('5d'), 5 * 24 * 60 * min);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.deepEqual(parseSchedule('5m,10m, 1h'), [5 * min, 10 * min, 60 * min]);
  assert.throws(() => parseDurationMs('5 minutes'), /not a duration/);
  assert.throws(() => retryPolicy({ delaysMs: [] }), /at least one/);
  assert.throws(() => retryPolicy({ jitter: 1 }), /jitter/);
  assert.throws(() => retryPolicy({ lifetimeMs: 0 }), /lifetime/);
});

test('the default schedule and lifetime print as the CLI shows them, and read back the same', () => {
  assert.equal(formatSchedule(defaultRetryPolicy.delaysMs), '5m,10m,20m,40m,1h,2h,4h');
  assert.equal(formatDuration(defaultRetryPolicy.lifetimeMs), '5d');
  assert.equal(formatDuration(1_500), '1500ms');
  for (const ms of [...defaultRetryPolicy.delaysMs, defaultRetryPolicy.lifetimeMs, 90_000, 250]) assert.equal(parseDurationMs(formatDuration(ms)), ms);
});
