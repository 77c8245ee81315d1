import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicyStore, policyLinesOf, type FetchPolicy, type StoredPolicy } from './policy-store.ts';

// An in-memory stand-in for the bucket's get/put (test/mta-sts/ uses a real nats-server).
function memoryKv() {
  const data = new Map<string, string>();
  return {
    data,
    get(k: string) {
      const v = data.get(k);
      return Promise.resolve(v === undefined ? null : ({ operation: 'PUT', length: v.length, string: () => v } as never));
    },
    put(k: string, v: unknown) {
      data.set(k, String(v));
      return Promise.resolve(data.size);
    },
  };
}

const policy: StoredPolicy = { id: 'id1', mode: 'enforce', mx: ['mx1.example.net', '*.example.net'], maxAge: 86400, expires: '2099-01-01T00:00:00.000Z' };

test('a policy one pod fetched is what the next lookup hands to mailauth, so it is not fetched again', async () => {
  const kv = memoryKv();
  const seen: (StoredPolicy | null)[] = [];
  const fetch: FetchPolicy = (_domain, known) => {
    seen.push(known);
    return Promise.resolve(known ? { policy: known as never, status: 'renewed' } : { policy: policy as never, status: 'found' });
  };
  const podA = createPolicyStore({ kv, fetch });
  const podB = createPolicyStore({ kv, fetch });
  const first = await podA.policyFor('Example.NET.');
  assert.equal(first.outcome, 'found');
  assert.deepEqual(first.policy, { mode: 'enforce', mx: ['mx1.example.net', '*.example.net'] });
  const second = await podB.policyFor('example.net');
  assert.equal(second.outcome, 'renewed');
  assert.deepEqual(seen, [null, policy]);
  assert.deepEqual([...kv.data.keys()], ['example.net']);
});

test('no policy, and a fetch that failed without a cached one, mean no policy in force', async () => {
  const kv = memoryKv();
  const none = createPolicyStore({ kv, fetch: () => Promise.resolve({ policy: { id: false, mode: 'none' }, status: 'not_found' }) });
  assert.deepEqual((await none.policyFor('plain.test')).policy, null);
  const failed = createPolicyStore({
    kv,
    fetch: () =>
      Promise.resolve({ policy: { id: 'x', mode: 'none', expires: '2099-01-01T00:00:00Z', error: new Error('certificate expired') }, status: 'errored' }),
  });
  const lookup = await failed.policyFor('broken.test');
  assert.equal(lookup.policy, null);
  assert.equal(lookup.error, 'certificate expired');
});

test('a damaged bucket entry is treated as none and fetched again', async () => {
  const kv = memoryKv();
  kv.data.set('example.net', '{not json');
  let known: unknown = 'unset';
  const store = createPolicyStore({ kv, fetch: (_d, k) => ((known = k), Promise.resolve({ policy: policy as never, status: 'found' as const })) });
  await store.policyFor('example.net');
  assert.equal(known, null);
});

test('the policy string of a TLS-RPT report lists the policy file lines (RFC 8460 §4.4)', () => {
  assert.deepEqual(policyLinesOf(policy), ['version: STSv1', 'mode: enforce', 'mx: mx1.example.net', 'mx: *.example.net', 'max_age: 86400']);
  assert.deepEqual(policyLinesOf({ id: false, mode: 'none' }), []);
});
