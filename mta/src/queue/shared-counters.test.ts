// The counters' write path with an in-memory KV (compare-and-set by revision, as JetStream's
// KV does): concurrent adds in one process count exactly, in fewer writes than adds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKvCounters, maxPlainSubjectBytes, subjectToken } from './shared-counters.ts';

function memoryKv() {
  const entries = new Map<string, { value: string; revision: number }>();
  let seq = 0;
  const calls = { get: 0, create: 0, update: 0 };
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    calls,
    /** Another pod writing the key directly. */
    bump(key: string, value: string) {
      entries.set(key, { value, revision: ++seq });
    },
    async get(key: string) {
      calls.get++;
      await tick();
      const e = entries.get(key);
      return e ? { operation: 'PUT' as const, revision: e.revision, string: () => e.value } : null;
    },
    async create(key: string, value: string) {
      calls.create++;
      await tick();
      if (entries.has(key)) throw new Error('wrong last sequence: key exists');
      entries.set(key, { value, revision: ++seq });
      return seq;
    },
    async update(key: string, value: string, revision: number) {
      calls.update++;
      await tick();
      if (entries.get(key)?.revision !== revision) throw new Error('wrong last sequence: 1');
      entries.set(key, { value, revision: ++seq });
      return seq;
    },
  };
}

test('concurrent adds to one key count exactly, each caller sees its own count, in far fewer writes', async () => {
  const kv = memoryKv();
  const counters = createKvCounters(kv as never, () => 0);
  const results = await Promise.all(Array.from({ length: 100 }, () => counters.add('conn-ip', '192.0.2.1', 60_000)));
  assert.deepEqual(
    [...results].sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  assert.equal(await counters.get('conn-ip', '192.0.2.1', 60_000), 100);
  assert.ok(kv.calls.create + kv.calls.update <= 3, `writes: ${JSON.stringify(kv.calls)}`);
});

test('a write by another pod in between is read and counted, not overwritten', async () => {
  const kv = memoryKv();
  const counters = createKvCounters(kv as never, () => 0);
  assert.equal(await counters.add('msg-ip', 'x', 60_000, 2), 2);
  const key = `msg-ip.${Buffer.from('x').toString('base64url')}.0`;
  kv.bump(key, '10');
  assert.equal(await counters.add('msg-ip', 'x', 60_000), 11);
  assert.equal(await counters.get('msg-ip', 'x', 60_000), 11);
});

test('a failed write rejects every add it carried', async () => {
  const kv = memoryKv();
  kv.create = () => Promise.reject(new Error('nats: timeout'));
  const counters = createKvCounters(kv as never, () => 0);
  const adds = [counters.add('a', 'b', 1000), counters.add('a', 'b', 1000)];
  for (const p of adds) await assert.rejects(p, /timeout/);
});

test('a key stays short whatever the subject: a long one is named by its digest, and two subjects never share a key', () => {
  const long = 'x'.repeat(5000);
  assert.equal(subjectToken('203.0.113.7'), Buffer.from('203.0.113.7').toString('base64url'));
  assert.match(subjectToken(long), /^=[A-Za-z0-9_-]{43}$/);
  assert.notEqual(subjectToken(long), subjectToken(long + 'y'));
  assert.equal(subjectToken('x'.repeat(maxPlainSubjectBytes)).length, Math.ceil((maxPlainSubjectBytes * 4) / 3));
  assert.equal(subjectToken(''), '_');
});
