import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { arc } from 'mailauth/lib/arc/index.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { sealForwardedCopy, ourAuthResults } from './arc-seal.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { domain: 'example.com', selector: 'k1', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
const record = `v=DKIM1; k=rsa; p=${createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = (name: string, type: string) => {
  if (type === 'TXT' && name === 'k1._domainkey.example.com') return Promise.resolve([[record]]);
  return Promise.reject(Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' }));
};
const stored = Buffer.from(
  [
    'Received: from c by mx.example.com',
    'Authentication-Results: mx.example.com;',
    ' dkim=pass header.d=sender.test;',
    ' spf=pass smtp.mailfrom=sender.test;',
    ' arc=none;',
    ' dmarc=pass header.from=sender.test',
    'Authentication-Results: mx.sender.test; spf=fail',
    'From: a@sender.test',
    'To: list@example.com',
    'Subject: s',
    '',
    'body',
    '',
  ].join('\r\n'),
);
const ids = new Set(['mx.example.com']);

test("our own Authentication-Results value is found, not another server's", () => {
  assert.match(ourAuthResults(stored, ids)!, /^mx\.example\.com;\r\n dkim=pass .*dmarc=pass header\.from=sender\.test$/s);
  assert.equal(ourAuthResults(stored, new Set(['mx.other.test'])), null);
});

test('a forwarded copy gets an ARC set (i=1, cv=none) that verifies, recording our intake results', async () => {
  const sealed = await sealForwardedCopy(stored, key, ids, new Date('2026-11-18T10:00:00Z'));
  assert.equal(sealed.sealed, true);
  const text = sealed.message.toString();
  assert.match(text, /^ARC-Seal: i=1; .*cv=none/s);
  assert.match(text, /ARC-Authentication-Results: i=1; mx\.example\.com;\r\n dkim=pass/);
  const verified = await dkimVerify(sealed.message, { resolver });
  const chain = await arc((verified as unknown as { arc: never }).arc, { resolver });
  assert.equal(chain.status.result, 'pass');
  assert.doesNotMatch(text, /[^\r]\n|\r[^\n]/);
});

test('an unusable key leaves the copy unsealed, with the reason', async () => {
  const result = await sealForwardedCopy(stored, { ...key, privateKeyPem: 'not a key' }, ids);
  assert.equal(result.sealed, false);
  assert.ok(result.error);
  assert.equal(result.message, stored);
});
