import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../bundle/password-hash.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';

/** The hash for `password`; `missed` says whether scrypt ran for it (every miss is verified or hashed by fill). */
async function hashOf(cache: PasswordHashCache, address: string, password: string, source?: string): Promise<{ hash: string; missed: boolean }> {
  const misses: PasswordMisses = new Map();
  const first = cache.lookup(address, password, misses, source);
  if (first !== undefined) return { hash: first, missed: false };
  await cache.fill(misses);
  return { hash: cache.lookup(address, password, new Map(), source) as string, missed: true };
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
  assert.deepEqual(Object.keys(cache).sort(), ['byAddress', 'saltKey', 'verified', 'versions']);
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

const key = Buffer.alloc(32, 7);
const uid = '6f1c0c2e-2b1a-4c8e-9d51-0a4f3b2e9c11';

/** A first operator process that hashed alice's password from Secret version `source`: the bundle's hash and the index's records. */
async function firstProcess(source: string): Promise<{ hash: string; versions: Map<string, string> }> {
  const cache = new PasswordHashCache(key);
  const { hash } = await hashOf(cache, 'alice@example.com', 's3cret', source);
  return { hash, versions: cache.versionRecords() };
}

test('a restart at the same Secret version reuses the hash without scrypt', async () => {
  const { hash, versions } = await firstProcess(`${uid}/41`);
  const restarted = new PasswordHashCache(key);
  restarted.seed([['alice@example.com', hash]], versions);
  assert.deepEqual(await hashOf(restarted, 'alice@example.com', 's3cret', `${uid}/41`), { hash, missed: false });
  assert.deepEqual(restarted.versionRecords(), versions);
});

test('a changed Secret version (or another Secret of the same name) is verified with scrypt, and recorded anew', async () => {
  const { hash, versions } = await firstProcess(`${uid}/41`);
  for (const source of [`${uid}/42`, `00000000-0000-4000-8000-000000000000/41`, undefined]) {
    const restarted = new PasswordHashCache(key);
    restarted.seed([['alice@example.com', hash]], versions);
    // The same password: the candidate verifies, so the bundle keeps its hash.
    assert.deepEqual(await hashOf(restarted, 'alice@example.com', 's3cret', source), { hash, missed: true });
    assert.notDeepEqual(restarted.versionRecords(), versions);
  }
  const changed = new PasswordHashCache(key);
  changed.seed([['alice@example.com', hash]], versions);
  const n3w = await hashOf(changed, 'alice@example.com', 'n3w', `${uid}/42`);
  assert.equal(n3w.missed, true);
  assert.equal(verifyPassword(n3w.hash, 'n3w'), true);
});

test('a hash put in the bundle by someone else, or a forged record, is verified with scrypt and not kept', async () => {
  const { versions } = await firstProcess(`${uid}/41`);
  const forged = hashPassword('attacker');
  const restarted = new PasswordHashCache(key);
  restarted.seed([['alice@example.com', forged]], versions);
  const swapped = await hashOf(restarted, 'alice@example.com', 's3cret', `${uid}/41`);
  assert.equal(swapped.missed, true);
  assert.notEqual(swapped.hash, forged);
  assert.equal(verifyPassword(swapped.hash, 's3cret'), true);

  // A record made without the master key (another key, or bytes made up) does not match.
  const other = new PasswordHashCache(Buffer.alloc(32, 8));
  const { hash: otherHash } = await hashOf(other, 'alice@example.com', 'attacker', `${uid}/41`);
  for (const record of [other.versionRecords(), new Map([['alice@example.com', Buffer.alloc(12).toString('base64')]])]) {
    const fooled = new PasswordHashCache(key);
    fooled.seed([['alice@example.com', otherHash]], record);
    const result = await hashOf(fooled, 'alice@example.com', 's3cret', `${uid}/41`);
    assert.equal(result.missed, true);
    assert.notEqual(result.hash, otherHash);
  }
});

test('records of removed mailboxes go with them', async () => {
  const cache = new PasswordHashCache(key);
  await hashOf(cache, 'alice@example.com', 's3cret', `${uid}/41`);
  assert.deepEqual([...cache.versionRecords().keys()], ['alice@example.com']);
  cache.retain(new Set());
  assert.equal(cache.versionRecords().size, 0);
});
