import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDeclaredSize, checkMessageShape, checkRecipientCount, defaultMessageLimits, recipientLimitFor, sizeLimitFor } from './message-limits.ts';
import { policyBundle } from './example-bundle.fixture.ts';

const [small, catchAll] = policyBundle.domains;
const limits = defaultMessageLimits;
const reply = (e: { code: number; enhanced: string; rule: string } | null) => (e ? `${e.code} ${e.enhanced} ${e.rule}` : 'ok');

test('the size limit is the smallest among the recipient domains, or the default for relayed mail', () => {
  assert.equal(sizeLimitFor([catchAll!, small!], limits), 10_000);
  assert.equal(sizeLimitFor([null], limits), limits.maxMessageSize);
  assert.equal(sizeLimitFor([], limits), limits.maxMessageSize);
});

test('SIZE= over the limit is refused with 552 5.3.4 (RFC 1870)', () => {
  assert.equal(reply(checkDeclaredSize(10_001, 10_000)), '552 5.3.4 message_too_big');
  assert.equal(reply(checkDeclaredSize(10_000, 10_000)), 'ok');
  assert.equal(reply(checkDeclaredSize(null, 10_000)), 'ok');
});

test('one recipient past the limit is 452 4.5.3, not 552 (RFC 5321 §4.5.3.1.10)', () => {
  const limit = recipientLimitFor([small!], limits);
  assert.equal(limit, 3);
  assert.equal(reply(checkRecipientCount(2, limit)), 'ok');
  assert.equal(reply(checkRecipientCount(3, limit)), '452 4.5.3 too_many_recipients');
});

test('end-of-data limits each have their own code', () => {
  const fine = { size: 100, sizeExceeded: false, headerSize: 50, longestLine: 80, receivedCount: 3 };
  assert.equal(reply(checkMessageShape(fine, 1000, limits)), 'ok');
  assert.equal(reply(checkMessageShape({ ...fine, sizeExceeded: true }, 1000, limits)), '552 5.3.4 message_too_big');
  assert.equal(reply(checkMessageShape({ ...fine, headerSize: 200_000 }, 1e9, limits)), '552 5.3.4 header_too_big');
  assert.equal(reply(checkMessageShape({ ...fine, longestLine: 2049 }, 1000, limits)), '554 5.6.0 line_too_long');
  assert.equal(reply(checkMessageShape({ ...fine, receivedCount: 51 }, 1000, limits)), '554 5.4.6 mail_loop');
  assert.equal(reply(checkMessageShape({ ...fine, receivedCount: 50 }, 1000, limits)), 'ok');
});
