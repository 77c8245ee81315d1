import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decoyPasswordHash, hashPassword, passwordHashProblem, platformCost, verifyPassword, verifyPasswordAsync } from './password-hash.ts';

const salt = (n: number) => Buffer.alloc(n, 1).toString('base64');
const key = Buffer.alloc(32, 2).toString('base64');

test('a hash verifies its password and no other', () => {
  const hash = hashPassword('correct horse');
  assert.match(hash, new RegExp(`^\\$scrypt\\$ln=${platformCost.ln},r=${platformCost.r},p=${platformCost.p}\\$`));
  assert.equal(passwordHashProblem(hash), null);
  assert.equal(verifyPassword(hash, 'correct horse'), true);
  assert.equal(verifyPassword(hash, 'correct horsE'), false);
});

test('each hash has its own salt', () => {
  assert.notEqual(hashPassword('same'), hashPassword('same'));
});

test('a hash of any other cost or shape is refused with a reason, and never verifies', () => {
  const other = ['$scrypt$ln=20,r=16,p=1', '$scrypt$ln=10,r=8,p=1', '$scrypt$ln=15,r=8,p=2', '$scrypt$ln=15,r=1,p=1'];
  for (const params of other) {
    const hash = `${params}$${salt(16)}$${key}`;
    assert.match(passwordHashProblem(hash) ?? '', /is not the platform's/, hash);
    assert.equal(verifyPassword(hash, 'x'), false, hash);
  }
  const p = `$scrypt$ln=${platformCost.ln},r=${platformCost.r},p=${platformCost.p}`;
  assert.match(passwordHashProblem(`${p}$${salt(4)}$${key}`) ?? '', /salt/);
  assert.match(passwordHashProblem(`${p}$${salt(16)}$aGFzaA==`) ?? '', /32 bytes/);
  for (const bad of ['', 'plain', '$scrypt$ln=10,r=8,p=1$abc', '$2b$10$abcdefghijklmnopqrstuv']) {
    assert.notEqual(passwordHashProblem(bad), null, bad);
    assert.equal(verifyPassword(bad, 'x'), false, bad);
  }
});

test('the decoy is a hash of the platform cost that nothing matches', () => {
  assert.equal(passwordHashProblem(decoyPasswordHash), null);
  assert.equal(verifyPassword(decoyPasswordHash, ''), false);
});

test('the async verify gives the same answers as the sync one', async () => {
  const hash = hashPassword('correct horse');
  assert.equal(await verifyPasswordAsync(hash, 'correct horse'), true);
  assert.equal(await verifyPasswordAsync(hash, 'wrong'), false);
  assert.equal(await verifyPasswordAsync(`$scrypt$ln=30,r=8,p=1$${salt(16)}$${key}`, 'x'), false);
});
