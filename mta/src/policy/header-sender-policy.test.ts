import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeaderSenders, headerSection, senderFields } from './header-sender-policy.ts';
import { mayUseDomain } from './sender-policy.ts';
import { policyBundle } from './example-bundle.fixture.ts';

const alice = 'alice@example.com';
const verdict = (header: string) => {
  const e = checkHeaderSenders(policyBundle, alice, header);
  return e ? `${e.code} ${e.enhanced} ${e.rule}` : 'accept';
};

describe('header sender policy', () => {
  test('From and Sender with addresses the login may use are accepted (own, alias, sendAs address and domain)', () => {
    assert.equal(verdict('From: Alice <alice@example.com>\r\nSubject: hi'), 'accept');
    assert.equal(verdict('From: "Team" <TEAM@example.com>, shared@example.com\r\nSender: alice@example.com'), 'accept');
    assert.equal(verdict('From: anyone@catchall.example'), 'accept');
    assert.equal(verdict('From: list: alice@example.com, postmaster@example.com;'), 'accept');
    assert.equal(verdict('Subject: no From at all'), 'accept');
  });

  test('another address, another domain, or an unreadable field: 550 5.7.1', () => {
    for (const header of [
      'From: bob@example.com',
      'From: ceo@other.example',
      'From: alice@example.com\r\nSender: someone@other.example',
      'From: alice@example.com, mallory@evil.example',
      'From: alice@example.com\r\nFrom: ceo@other.example',
      'From: "alice@example.com" <ceo@other.example>',
      'From: undisclosed',
      'From:',
      'from :\r\n ceo@other.example',
    ]) {
      assert.equal(verdict(header), '550 5.7.1 header_sender_not_owned', header);
    }
    const e = checkHeaderSenders(policyBundle, alice, 'From: ceo@other.example')!;
    assert.equal(e.clientMessage, 'From header address not owned by the authenticated user');
    assert.match(e.reason, /alice@example\.com may not use "ceo@other\.example"/);
  });

  test('folded fields are unfolded; only From and Sender are read', () => {
    assert.deepEqual(senderFields('From: a\r\n <x@y.z>\r\nReply-To: r@s.t\r\nResent-From: q@r.s\r\nSender: s@t.u'), [
      { field: 'From', value: ' a <x@y.z>' },
      { field: 'Sender', value: ' s@t.u' },
    ]);
  });

  test('the header section ends at the first empty line, across chunks', () => {
    const chunks = [Buffer.from('From: a@b.c\r\nSubj'), Buffer.from('ect: x\r\n\r\nFrom: body@evil.example\r\n')];
    assert.equal(headerSection(chunks), 'From: a@b.c\r\nSubject: x');
    assert.equal(headerSection([Buffer.from('\r\nFrom: body@evil.example\r\n')]), '');
  });

  test('the domains a login may sign for: its own, its aliases and its sendAs', () => {
    assert.equal(mayUseDomain(policyBundle, alice, 'example.com'), true);
    assert.equal(mayUseDomain(policyBundle, alice, 'catchall.example'), true);
    assert.equal(mayUseDomain(policyBundle, alice, 'xn--bcher-kva.example'), false);
    assert.equal(mayUseDomain(policyBundle, 'bob@example.com', 'catchall.example'), false);
  });
});
