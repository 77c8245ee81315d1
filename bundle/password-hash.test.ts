import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, verifyPasswordAsync } from './password-hash.ts';

const cheap = { ln: 10, r: 8, p: 1 };

test('a hash verifies its password and no other', () => {
  const hash = hashPassword('correct horse', cheap);
  assert.match(hash, /^\$scrypt\$ln=10,r=8,p=1\$/);
  assert.equal(verifyPassword(hash, 'correct horse'), true);
  assert.equal(verifyPassword(hash, 'correct horsE'), false);
});

test('each hash has its own salt', () => {
  assert.notEqual(hashPassword('same', cheap), hashPassword('same', cheap));
});

test('malformed hashes and hostile costs are refused without an exception', () => {
  for (const bad of ['', 'plain', '$scrypt$ln=10,r=8,p=1$abc', '$scrypt$ln=30,r=8,p=1$c2FsdA==$aGFzaA==', '$2b$10$abcdefghijklmnopqrstuv']) {
    assert.equal(verifyPassword(bad, 'x'), false, bad);
  }
});

test('the async verify gives the same answers as the sync one', async () => {
  const hash = hashPassword('correct horse', cheap);
  assert.equal(await verifyPasswordAsync(hash, 'correct horse'), true);
  assert.equal(await verifyPasswordAsync(hash, 'wrong'), false);
  assert.equal(await verifyPasswordAsync('$scrypt$ln=30,r=8,p=1$c2FsdA==$aGFzaA==', 'x'), false);
});
