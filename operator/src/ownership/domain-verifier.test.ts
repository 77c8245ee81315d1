// The DNS side of domain ownership, with a stand-in resolver (pure unit test; the real DNS
// server is in test/trust/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainVerifier } from './domain-verifier.ts';

function resolverOf(answers: Map<string, string[][] | string>) {
  const asked: string[] = [];
  return {
    asked,
    resolveTxt(name: string): Promise<string[][]> {
      asked.push(name);
      const a = answers.get(name) ?? 'ENOTFOUND';
      return typeof a === 'string' ? Promise.reject(Object.assign(new Error(a), { code: a })) : Promise.resolve(a);
    },
  };
}

test('a claim is verified while DNS shows its record; a DNS failure keeps the last answer, an answer without it revokes', async () => {
  let now = 0;
  const answers = new Map<string, string[][] | string>();
  const resolver = resolverOf(answers);
  const results: string[] = [];
  const verifier = new DomainVerifier({
    resolver,
    record: (ns, d) => Promise.resolve({ name: `_stafette-challenge.${d}`, value: `token-${ns}` }),
    now: () => now,
    recheckVerifiedMs: 100,
    recheckUnverifiedMs: 10,
    onLookup: (result) => results.push(result),
  });
  const claims = [{ namespace: 'b', domain: 'b.test' }];
  await verifier.checkNew(claims);
  assert.deepEqual([...verifier.verified()], []);
  await verifier.checkNew(claims);
  assert.equal(resolver.asked.length, 1, 'checkNew looks a claim up once');

  answers.set('_stafette-challenge.b.test', [['other'], ['tok', 'en-b']]);
  assert.equal(await verifier.checkDue(claims), false, 'not due yet');
  now = 10;
  assert.equal(await verifier.checkDue(claims), true);
  assert.deepEqual([...verifier.verified()], ['b/b.test']);

  answers.set('_stafette-challenge.b.test', 'ETIMEOUT');
  now = 200;
  assert.equal(await verifier.checkDue(claims), false);
  assert.deepEqual([...verifier.verified()], ['b/b.test'], 'a timeout is no answer');

  answers.set('_stafette-challenge.b.test', 'ENODATA');
  now = 400;
  assert.equal(await verifier.checkDue(claims), true);
  assert.deepEqual([...verifier.verified()], []);
  assert.deepEqual(results, ['absent', 'found', 'failed', 'absent']);
});

test('unset options get their defaults, not undefined', async () => {
  let now = 0;
  const resolver = resolverOf(new Map());
  const verifier = new DomainVerifier({ resolver, record: (ns, d) => Promise.resolve({ name: d, value: ns }), now: () => now, recheckUnverifiedMs: undefined });
  await verifier.checkDue([{ namespace: 'a', domain: 'a.test' }]);
  now = 30_000;
  await verifier.checkDue([{ namespace: 'a', domain: 'a.test' }]);
  assert.equal(resolver.asked.length, 2, 'rechecked after the default 30 s');
});

test('a render waits for new claims only up to its budget; a late answer is told through onChange', async () => {
  let answer: (texts: string[][]) => void = () => {};
  let changes = 0;
  const verifier = new DomainVerifier({
    resolver: { resolveTxt: () => new Promise((resolve) => (answer = resolve)) },
    record: (ns, d) => Promise.resolve({ name: d, value: ns }),
    now: () => 0,
    newClaimBudgetMs: 20,
    onChange: () => (changes += 1),
  });
  await verifier.checkNew([{ namespace: 'a', domain: 'a.test' }]);
  assert.deepEqual([...verifier.verified()], [], 'went on without the answer');
  await verifier.checkNew([{ namespace: 'a', domain: 'a.test' }]);
  answer([['a']]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([...verifier.verified()], ['a/a.test']);
  assert.equal(changes, 1);
});
