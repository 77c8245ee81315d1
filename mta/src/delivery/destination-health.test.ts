import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecipientOutcome } from './attempt.ts';
import { createDestinationHealth, unreachable } from './destination-health.ts';

const o = (status: RecipientOutcome['status'], remoteMta?: string): RecipientOutcome => ({
  recipient: 'r@x.test',
  status,
  reply: { code: 451, enhanced: '4.4.1', text: 't' },
  reason: 'connection refused',
  ...(remoteMta ? { remoteMta } : {}),
});

test('unreachable means every recipient transient and no server answered', () => {
  assert.equal(unreachable([o('transient'), o('transient')]), true);
  assert.equal(unreachable([o('transient', 'mx.x.test')]), false, 'a 4xx from a server is an answer');
  assert.equal(unreachable([o('transient'), o('delivered')]), false);
  assert.equal(unreachable([]), false);
});

test('a destination no server answered is down for a while, then tried again', () => {
  const h = createDestinationHealth({ downForMs: 1000 });
  h.report('mx:dead.test', [o('transient')], 0);
  assert.deepEqual(h.down('mx:dead.test', 500), { untilMs: 1000, reason: 'connection refused' });
  assert.equal(h.down('mx:other.test', 500), null);
  assert.equal(h.down('mx:dead.test', 1000), null, 'retried after downForMs');
});

test('an answer (even a 4xx or 5xx) clears it; downForMs 0 disables the cache', () => {
  const h = createDestinationHealth({ downForMs: 1000 });
  h.report('k', [o('transient')], 0);
  h.report('k', [o('permanent', 'mx')], 10);
  assert.equal(h.down('k', 20), null);
  const off = createDestinationHealth({ downForMs: 0 });
  off.report('k', [o('transient')], 0);
  assert.equal(off.down('k', 1), null);
});

test('the cache is bounded', () => {
  const h = createDestinationHealth({ downForMs: 1000, maxEntries: 2 });
  for (const k of ['a', 'b', 'c']) h.report(k, [o('transient')], 0);
  assert.equal(h.down('a', 1), null, 'the oldest entry made room');
  assert.ok(h.down('c', 1));
});
