import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../bundle/password-hash.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';

async function hashOf(cache: PasswordHashCache, address: string, password: string): Promise<{ hash: string; missed: boolean }> {
  const misses: PasswordMisses = new Map();
  const first = cache.lookup(address, password, misses);
  if (first !== undefined) return { hash: first, missed: false };
  await cache.fill(misses);
  return { hash: cache.lookup(address, password, new Map()) as string, missed: true };
}

test("a restarted operator verifies the bundle's hash once and keeps it; a changed password is hashed anew", async () => {
  const stored = hashPassword('s3cret');
  const cache = new PasswordHashCache();
  cache.seed([['alice@example.com', stored]]);
  assert.deepEqual(await hashOf(cache, 'alice@example.com', 's3cret'), { hash: stored, missed: true });
  assert.deepEqual(await hashOf(cache, 'alice@example.com', 's3cret'), { hash: stored, missed: false });

  const changed = await hashOf(cache, 'alice@example.com', 'n3w');
  assert.notEqual(changed.hash, stored);
  assert.equal(verifyPassword(changed.hash, 'n3w'), true);
});

test('a seeded hash that is not of the platform cost is replaced, never verified', async () => {
  const cache = new PasswordHashCache();
  const other = `$scrypt$ln=20,r=16,p=1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
  cache.seed([['alice@example.com', other]]);
  const { hash } = await hashOf(cache, 'alice@example.com', 's3cret');
  assert.notEqual(hash, other);
  assert.equal(verifyPassword(hash, 's3cret'), true);
});

test('nothing but the scrypt hash is kept for a password (no fast verifier)', async () => {
  const cache = new PasswordHashCache();
  await hashOf(cache, 'alice@example.com', 's3cret');
  // No fingerprint of any kind: the hash per address, the passwords they were checked against, the salt key.
  assert.deepEqual(Object.keys(cache).sort(), ['byAddress', 'saltKey', 'verified']);
  cache.retain(new Set());
  assert.equal(cache.lookup('alice@example.com', 's3cret', new Map()), undefined);
});

test('the same key and address give the same hash in another process (a restart renders the same bundle); another address another salt', async () => {
  const key = Buffer.alloc(32, 5);
  const one = await hashOf(new PasswordHashCache(key), 'alice@example.com', 's3cret');
  const two = await hashOf(new PasswordHashCache(key), 'alice@example.com', 's3cret');
  const bob = await hashOf(new PasswordHashCache(key), 'bob@example.com', 's3cret');
  assert.equal(one.hash, two.hash);
  assert.notEqual(one.hash, bob.hash);
});
