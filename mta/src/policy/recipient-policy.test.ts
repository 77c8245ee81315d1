import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRecipient, type RecipientVerdict } from './recipient-policy.ts';
import { policyBundle } from './example-bundle.fixture.ts';

const mx = { mayRelay: false };
const submission = { mayRelay: true };

function outcome(v: RecipientVerdict): string {
  return v.accept ? `accept ${v.match} ${v.address.address}` : `${v.error.code} ${v.error.enhanced} ${v.error.rule}`;
}

describe('recipient policy - MX', () => {
  test('mailboxes, aliases and +tag subaddresses of our domains are accepted', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'bob@example.com', mx)), 'accept mailbox bob@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'team@example.com', mx)), 'accept alias team@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'bob+lists@example.com', mx)), 'accept subaddress bob+lists@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'postmaster+x@example.com', mx)), 'accept subaddress postmaster+x@example.com');
  });

  test("<postmaster> without a domain goes to the first domain's postmaster (RFC 5321 §4.5.1); so does postmaster@ of a domain without one", () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'postmaster', mx)), 'accept alias postmaster@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'PostMaster', mx)), 'accept alias postmaster@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'postmaster@xn--bcher-kva.example', mx)), 'accept alias postmaster@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'postmaster@example.com', mx)), 'accept alias postmaster@example.com');
  });

  test('a quoted local part is dequoted: "bob"@example.com is bob', () => {
    assert.equal(outcome(checkRecipient(policyBundle, '"bob"@example.com', mx)), 'accept mailbox bob@example.com');
  });

  test('an all-numeric domain is not an address (it is no IP literal either)', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'x@2130706433', mx)), '501 5.1.3 bad_recipient_syntax');
  });

  test('an unknown local address is refused at RCPT with 550 5.1.1', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'nobody@example.com', mx)), '550 5.1.1 unknown_recipient');
    assert.equal(outcome(checkRecipient(policyBundle, '+tag@example.com', mx)), '550 5.1.1 unknown_recipient');
  });

  test('a catch-all domain accepts any local part', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'whatever@catchall.example', mx)), 'accept catch-all whatever@catchall.example');
  });

  test('case, a trailing dot and the Unicode form of an IDN domain all match the stored address', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'BOB@EXAMPLE.COM.', mx)), 'accept mailbox bob@example.com');
    assert.equal(outcome(checkRecipient(policyBundle, 'info@bücher.example', mx)), 'accept mailbox info@xn--bcher-kva.example');
    assert.equal(outcome(checkRecipient(policyBundle, 'Info@XN--BCHER-KVA.example', mx)), 'accept mailbox info@xn--bcher-kva.example');
  });

  test('relay matrix: nothing is relayed, % and ! are plain local-part characters (docs/reliability.md §3 scenario 23)', () => {
    for (const rcpt of ['u@ext.example', 'u@example.com.ext.example', 'u@[127.0.0.1]']) {
      assert.match(outcome(checkRecipient(policyBundle, rcpt, mx)), /^(550 5\.7\.1 relay_denied|501 5\.1\.3 bad_recipient_syntax)$/, rcpt);
    }
    for (const rcpt of ['u%ext.example@example.com', 'ext.example!u@example.com', '"u@ext.example"@example.com']) {
      assert.equal(outcome(checkRecipient(policyBundle, rcpt, mx)), '550 5.1.1 unknown_recipient', rcpt);
    }
  });

  test('a path that is not an address is a syntax error (501 5.1.3)', () => {
    for (const rcpt of ['bob', '@example.com', 'bob@', 'bob@exa mple.com', `${'x'.repeat(65)}@example.com`]) {
      assert.equal(outcome(checkRecipient(policyBundle, rcpt, mx)), '501 5.1.3 bad_recipient_syntax', rcpt);
    }
  });
});

describe('recipient policy - submission', () => {
  test('an authenticated user may send to other domains', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'friend@elsewhere.example', submission)), 'accept relay friend@elsewhere.example');
  });

  test('recipients in our own domains must still exist', () => {
    assert.equal(outcome(checkRecipient(policyBundle, 'nobody@example.com', submission)), '550 5.1.1 unknown_recipient');
  });
});
