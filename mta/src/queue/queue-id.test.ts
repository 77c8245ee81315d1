import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQueueId, newQueueId, queueIdTime } from './queue-id.ts';

test('queue id - 26 subject-safe characters that carry the acceptance time', () => {
  const t = Date.parse('2026-11-22T11:00:00.123Z');
  const id = newQueueId(t);
  assert.equal(id.length, 26);
  assert.ok(isQueueId(id));
  assert.doesNotMatch(id, /[.*> ]/);
  assert.equal(queueIdTime(id), t);
});

test('queue id - ids sort by time', () => {
  const zeros = () => new Uint8Array(10);
  const ones = () => new Uint8Array(10).fill(255);
  assert.ok(newQueueId(1000, ones) < newQueueId(1001, zeros));
  assert.equal(newQueueId(0, zeros), '0'.repeat(26));
  assert.equal(newQueueId(0, ones), `${'0'.repeat(10)}${'Z'.repeat(16)}`);
});

test('queue id - random part differs between ids of the same millisecond', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newQueueId(5)));
  assert.equal(ids.size, 1000);
});

test('queue id - anything else is not a queue id', () => {
  for (const bad of ['', 'mail.queue.>', '*', '0'.repeat(25), '0'.repeat(27), 'I'.repeat(26), 'u'.repeat(26), `${'0'.repeat(25)}\n`]) {
    assert.equal(isQueueId(bad), false, JSON.stringify(bad));
  }
  assert.throws(() => newQueueId(-1), RangeError);
  assert.throws(() => queueIdTime('nope'), RangeError);
});
