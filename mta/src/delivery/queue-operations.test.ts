import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFilter } from './queue-operations.ts';

test('filters by domain, recipient and age; all must hold', () => {
  const e = { recipients: ['Bob@Soft.test', 'x@other.test'], ageMs: 60_000 };
  assert.equal(matchesFilter(e, {}), true);
  assert.equal(matchesFilter(e, { domain: 'soft.TEST' }), true);
  assert.equal(matchesFilter(e, { domain: 'nope.test' }), false);
  assert.equal(matchesFilter(e, { recipient: 'bob@soft.test' }), true);
  assert.equal(matchesFilter(e, { recipient: 'bob@' }), false);
  assert.equal(matchesFilter(e, { minAgeMs: 30_000 }), true);
  assert.equal(matchesFilter(e, { minAgeMs: 120_000 }), false);
  assert.equal(matchesFilter(e, { domain: 'soft.test', minAgeMs: 120_000 }), false);
});
