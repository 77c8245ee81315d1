import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { sealMessage } from 'mailauth/lib/arc/index.js';
import { verifyMessage, type VerifyInput } from './verify-message.ts';

// mailauth's checks with a zone held in memory (the unit-test resolver; test/sender-auth/
// runs the same against dnsmasq and compares with an independent implementation).
function rsaKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')}`,
  };
}
const sender = rsaKey();
const forwarder = rsaKey();

const zone: Record<string, string[][] | 'SERVFAIL'> = {
  'TXT sender.test': [['v=spf1 ip4:127.0.0.10 -all']],
  'TXT s1._domainkey.sender.test': [[sender.record]],
  'TXT _dmarc.sender.test': [['v=DMARC1; p=reject']],
  'TXT fwd._domainkey.forwarder.test': [[forwarder.record]],
  'TXT broken.test': 'SERVFAIL',
};
const calls: string[] = [];
function resolver(name: string, type: string): Promise<unknown> {
  calls.push(`${type} ${name}`);
  const v = zone[`${type} ${name}`];
  if (v === 'SERVFAIL') return Promise.reject(Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' }));
  if (!v) return Promise.reject(Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' }));
  return Promise.resolve(v);
}

const plain = Buffer.from(
  'From: Alice <alice@sender.test>\r\nTo: bob@example.com\r\nSubject: hello\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@sender.test>\r\n\r\nHello Bob.\r\n',
);

async function signed(message: Buffer): Promise<Buffer> {
  const r = await dkimSign(message, { signatureData: [{ signingDomain: 'sender.test', selector: 's1', privateKey: sender.pem }] } as never);
  assert.deepEqual(r.errors, []);
  return Buffer.concat([Buffer.from(r.signatures), message]);
}

function input(message: VerifyInput['message'], ip: string, mailFrom = 'alice@sender.test'): VerifyInput {
  return { message, ip, helo: 'client.sender.test', mailFrom, authservId: 'mx.example.com', resolver };
}

describe('inbound verification with mailauth', () => {
  test('a signed message from an allowed IP passes SPF, DKIM and DMARC', async () => {
    const v = await verifyMessage(input(await signed(plain), '127.0.0.10'));
    assert.equal(v.spf.result, 'pass');
    assert.equal(v.spf.domain, 'sender.test');
    assert.deepEqual(v.dkim.signatures, [{ result: 'pass', domain: 'sender.test', selector: 's1' }]);
    assert.deepEqual(v.dmarc, { result: 'pass', fromDomain: 'sender.test', policy: 'reject' });
    assert.equal(v.arc.result, 'none');
    assert.deepEqual(
      v.resinfo.map((r) => r.split(' ')[0]),
      ['dkim=pass', 'spf=pass', 'arc=none', 'dmarc=pass'],
    );
  });

  test('unsigned, from another IP: SPF fail, DKIM none, DMARC fail under p=reject', async () => {
    const v = await verifyMessage(input(plain, '127.0.0.11'));
    assert.equal(v.spf.result, 'fail');
    assert.equal(v.dkim.result, 'none');
    assert.deepEqual(v.dkim.signatures, []);
    assert.deepEqual(v.dmarc, { result: 'fail', fromDomain: 'sender.test', policy: 'reject' });
  });

  test('the message may arrive as a stream in small chunks', async () => {
    const bytes = await signed(plain);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const v = await verifyMessage(input(Readable.from(chunks), '127.0.0.10'));
    assert.equal(v.dkim.result, 'pass');
  });

  test('a body changed after signing fails DKIM', async () => {
    const tampered = Buffer.from((await signed(plain)).toString().replace('Hello Bob.', 'Pay Mallory.'));
    const v = await verifyMessage(input(tampered, '127.0.0.10'));
    assert.equal(v.dkim.result, 'fail');
  });

  test('a DNS failure is temperror, never fail', async () => {
    const v = await verifyMessage(input(plain, '127.0.0.10', 'x@broken.test'));
    assert.equal(v.spf.result, 'temperror');
  });

  test('SPF follows MAIL FROM, not the Return-Path or Received the message carries', async () => {
    const lying = Buffer.concat([Buffer.from('Return-Path: <x@sender.test>\r\nReceived: from client.sender.test ([127.0.0.10])\r\n'), plain]);
    const v = await verifyMessage(input(lying, '127.0.0.99', ''));
    assert.equal(v.spf.domain, 'client.sender.test'); // null sender: the EHLO name is checked
    assert.notEqual(v.spf.result, 'pass');
  });

  test('an ARC chain sealed by a forwarder verifies (arc=pass, instance 1)', async () => {
    const original = await signed(plain);
    const seal = await sealMessage(original, {
      signingDomain: 'forwarder.test',
      selector: 'fwd',
      privateKey: forwarder.pem,
      cv: 'none',
      authResults: 'mx.forwarder.test; dkim=pass header.d=sender.test; spf=pass smtp.mailfrom=sender.test',
    });
    const v = await verifyMessage(input(Buffer.concat([seal, original]), '127.0.0.77'));
    assert.deepEqual(v.arc, { result: 'pass', instance: 1 });
  });
});
