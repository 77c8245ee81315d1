import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oldEnoughToCollect } from './orphan-bodies.ts';

test('orphan bodies - only objects older than the threshold are candidates', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  const hour = 3_600_000;
  assert.equal(oldEnoughToCollect({ mtime: '2026-11-22T10:59:59Z', deleted: false }, now, hour), true);
  assert.equal(oldEnoughToCollect({ mtime: '2026-11-22T11:30:00Z', deleted: false }, now, hour), false);
  assert.equal(oldEnoughToCollect({ mtime: '2026-11-22T09:00:00Z', deleted: true }, now, hour), false);
  assert.equal(oldEnoughToCollect({ mtime: 'garbage', deleted: false }, now, hour), false);
});
