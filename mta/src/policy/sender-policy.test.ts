import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMxSender, checkSubmissionSender, type SenderVerdict } from './sender-policy.ts';
import { policyBundle } from './example-bundle.fixture.ts';

function outcome(v: SenderVerdict): string {
  return v.accept ? `accept ${v.address?.address ?? '<>'}` : `${v.error.code} ${v.error.enhanced} ${v.error.rule}`;
}

describe('sender policy - MX', () => {
  test('any valid sender and the null sender are accepted', () => {
    assert.equal(outcome(checkMxSender('Someone@Elsewhere.Example')), 'accept someone@elsewhere.example');
    assert.equal(outcome(checkMxSender('')), 'accept <>');
  });

  test('a sender that is not an address is a syntax error (501 5.1.7)', () => {
    assert.equal(outcome(checkMxSender('nobody')), '501 5.1.7 bad_sender_syntax');
  });
});

describe('sender policy - submission sendAs', () => {
  const alice = 'alice@example.com';

  test('a user may send as itself, its aliases and its sendAs addresses and domains', () => {
    for (const from of [
      'alice@example.com',
      'ALICE@example.com',
      'team@example.com',
      'postmaster@example.com',
      'anything@catchall.example',
      'shared@example.com',
    ]) {
      assert.match(outcome(checkSubmissionSender(policyBundle, alice, from)), /^accept /, from);
    }
  });

  test('anything else is refused with 553 5.7.1, including the null sender', () => {
    for (const from of ['bob@example.com', 'alice@evil.example', 'x@sub.catchall.example', '']) {
      assert.equal(outcome(checkSubmissionSender(policyBundle, alice, from)), '553 5.7.1 sender_not_owned', from);
    }
    assert.equal(outcome(checkSubmissionSender(policyBundle, 'bob@example.com', 'alice@example.com')), '553 5.7.1 sender_not_owned');
  });
});
