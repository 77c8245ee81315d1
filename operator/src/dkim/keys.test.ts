import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { algorithmOf, generateDkimKey, generateDkimKeyAsync, keyMaterialOf, publicKeyRecordValue } from './keys.ts';

test('an RSA key is 2048 bits and its p= value is the DER SubjectPublicKeyInfo', () => {
  const key = generateDkimKey('rsa-sha256');
  const publicKey = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' });
  assert.equal(publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const signature = sign('sha256', Buffer.from('hello'), key.privateKeyPem);
  assert.equal(verify('sha256', Buffer.from('hello'), publicKey, signature), true);
  assert.equal(algorithmOf(key.privateKeyPem), 'rsa-sha256');
});

test('an Ed25519 key publishes the raw 32-byte key (RFC 8463), which verifies its signatures', () => {
  const key = generateDkimKey('ed25519-sha256');
  const raw = Buffer.from(key.publicKey, 'base64');
  assert.equal(raw.length, 32);
  // Rebuild the SPKI from the raw key: the fixed 12-byte Ed25519 prefix plus the key.
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const signature = sign(null, Buffer.from('hello'), key.privateKeyPem);
  assert.equal(verify(null, Buffer.from('hello'), publicKey, signature), true);
  assert.equal(publicKeyRecordValue(key.privateKeyPem), key.publicKey);
});

test('keys that cannot sign DKIM are named', () => {
  const ec = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
    format: 'jwk',
  });
  assert.throws(() => algorithmOf(ec.export({ type: 'pkcs8', format: 'pem' }).toString()), /the key type ec cannot sign DKIM/);
});

test('a generated key, async, carries the p= value its PEM gives, and keyMaterialOf reads both back', async () => {
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    const key = await generateDkimKeyAsync(algorithm);
    assert.equal(key.publicKey, publicKeyRecordValue(key.privateKeyPem));
    assert.deepEqual(keyMaterialOf(key.privateKeyPem), { algorithm, publicKey: key.publicKey });
  }
});
