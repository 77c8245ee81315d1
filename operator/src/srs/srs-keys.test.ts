import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSrsRotationMs, srsKeysAt } from './srs-keys.ts';

const master = Buffer.alloc(32, 1);
const day = 86_400_000;

test('the same instant gives the same keys; a rotation shifts the current key to second place', () => {
  const t = 1_795_000_000_000;
  const [current, previous] = srsKeysAt(master, t);
  assert.deepEqual(srsKeysAt(master, t + 1000), [current, previous]);
  assert.notEqual(current, previous);
  const after = srsKeysAt(master, nextSrsRotationMs(t));
  assert.equal(after[1], current);
  assert.notEqual(after[0], current);
  assert.ok(current!.length >= 16);
});

test('another master key gives other keys; rotation every 30 days by default', () => {
  assert.notDeepEqual(srsKeysAt(Buffer.alloc(32, 2), 0), srsKeysAt(master, 0));
  assert.equal(nextSrsRotationMs(0), 30 * day);
});
