import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSrsRecipient, forwardingSender } from './srs-policy.ts';

const options = { keys: ['stafette-test-key-1'], now: () => 1_795_000_000_000 };
const ours = (d: string) => d === 'example.com';

test('forwarding rewrites foreign senders only; ours and the null sender stay', () => {
  assert.equal(forwardingSender('Alice@Sender.Test', 'example.com', ours, options), 'SRS0=aLB/=JH=Sender.Test=Alice@example.com');
  assert.equal(forwardingSender('bob@Example.com', 'example.com', ours, options), 'bob@Example.com');
  assert.equal(forwardingSender('', 'example.com', ours, options), '');
  assert.equal(forwardingSender('a@sender.test', 'example.com', ours, { keys: [] }), 'a@sender.test');
});

test('a bounce to our SRS address goes back to the original sender', () => {
  assert.deepEqual(checkSrsRecipient('SRS0=aLB/=JH=Sender.Test=Alice', '', options), { kind: 'reverse', original: 'Alice@Sender.Test' });
  assert.deepEqual(checkSrsRecipient('alice', '', options), { kind: 'not-srs' });
});

test('forged or expired addresses are unknown users; a valid one used by a real sender is refused', () => {
  const forged = checkSrsRecipient('SRS0=AAAA=JH=victim.test=someone', '', options);
  assert.equal(forged.kind === 'refuse' && forged.error.replyLine(), '550 5.1.1 Recipient address rejected: no such user here');
  const expired = checkSrsRecipient('SRS0=aLB/=JH=Sender.Test=Alice', '', { ...options, now: () => 1_795_000_000_000 + 30 * 86_400_000 });
  assert.equal(expired.kind === 'refuse' && expired.error.rule, 'srs_invalid');
  const spam = checkSrsRecipient('SRS0=aLB/=JH=Sender.Test=Alice', 'spammer@elsewhere.test', options);
  assert.equal(spam.kind === 'refuse' && `${spam.error.code} ${spam.error.enhanced} ${spam.error.rule}`, '550 5.7.1 srs_not_bounce');
});
