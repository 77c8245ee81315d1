import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCachingResolver } from './dns-cache.ts';
import { DnsError, type DnsAnswer, type LookupType } from './dns-client.ts';
import { createLookupBudget } from './lookup-budget.ts';

function scripted(answers: Record<string, DnsAnswer | DnsError>) {
  const asked: string[] = [];
  const query = (name: string, type: LookupType): Promise<DnsAnswer> => {
    asked.push(`${type} ${name}`);
    const a = answers[`${type} ${name}`];
    if (!a) return Promise.reject(new DnsError('ETIMEOUT', 'no answer'));
    if (a instanceof DnsError) return Promise.reject(a);
    return Promise.resolve(a);
  };
  return { query, asked };
}

describe('DNS cache', () => {
  test('an answer is reused until its TTL passes, then asked again', async () => {
    let t = 0;
    const { query, asked } = scripted({ 'TXT example.test': { ok: true, values: [['v=spf1 -all']], ttl: 60 } });
    const cache = createCachingResolver({ query, now: () => t });
    assert.deepEqual(await cache.resolve('example.test', 'TXT'), [['v=spf1 -all']]);
    t = 59_999;
    await cache.resolve('Example.TEST.', 'TXT');
    assert.equal(asked.length, 1);
    t = 60_000;
    await cache.resolve('example.test', 'TXT');
    assert.equal(asked.length, 2);
  });

  test('TTLs are capped, and TTL 0 is not cached', async () => {
    let t = 0;
    const { query, asked } = scripted({
      'A long.test': { ok: true, values: ['192.0.2.1'], ttl: 86_400 },
      'A zero.test': { ok: true, values: ['192.0.2.2'], ttl: 0 },
    });
    const cache = createCachingResolver({ query, now: () => t, maxTtlSeconds: 300 });
    await cache.resolve('long.test', 'A');
    await cache.resolve('zero.test', 'A');
    await cache.resolve('zero.test', 'A');
    t = 300_000;
    await cache.resolve('long.test', 'A');
    assert.deepEqual(asked, ['A long.test', 'A zero.test', 'A zero.test', 'A long.test']);
  });

  test('NXDOMAIN with an SOA is cached for its negative TTL and rejected with ENOTFOUND each time', async () => {
    let t = 0;
    const { query, asked } = scripted({
      'TXT _dmarc.none.test': { ok: false, code: 'ENOTFOUND', ttl: 120 },
      'TXT nosoa.test': { ok: false, code: 'ENODATA', ttl: null },
    });
    const cache = createCachingResolver({ query, now: () => t });
    await assert.rejects(cache.resolve('_dmarc.none.test', 'TXT'), { code: 'ENOTFOUND' });
    t = 119_000;
    await assert.rejects(cache.resolve('_dmarc.none.test', 'TXT'), { code: 'ENOTFOUND' });
    await assert.rejects(cache.resolve('nosoa.test', 'TXT'), { code: 'ENODATA' });
    await assert.rejects(cache.resolve('nosoa.test', 'TXT'), { code: 'ENODATA' });
    assert.deepEqual(asked, ['TXT _dmarc.none.test', 'TXT nosoa.test', 'TXT nosoa.test']);
  });

  test('a failure to get an answer is never cached', async () => {
    const { query, asked } = scripted({ 'TXT broken.test': new DnsError('ESERVFAIL', 'SERVFAIL') });
    const cache = createCachingResolver({ query });
    await assert.rejects(cache.resolve('broken.test', 'TXT'), { code: 'ESERVFAIL' });
    await assert.rejects(cache.resolve('broken.test', 'TXT'), { code: 'ESERVFAIL' });
    assert.equal(asked.length, 2);
  });

  test('concurrent lookups of one name share one query', async () => {
    const { query, asked } = scripted({ 'MX example.test': { ok: true, values: [{ exchange: 'mx.example.test', priority: 10 }], ttl: 30 } });
    const cache = createCachingResolver({ query });
    await Promise.all([cache.resolve('example.test', 'MX'), cache.resolve('example.test', 'MX'), cache.resolve('example.test', 'MX')]);
    assert.equal(asked.length, 1);
  });

  test('the least recently used entry goes when the cache is full', async () => {
    const answers: Record<string, DnsAnswer> = {};
    for (const n of ['a', 'b', 'c']) answers[`A ${n}.test`] = { ok: true, values: ['192.0.2.1'], ttl: 60 };
    const { query, asked } = scripted(answers);
    const cache = createCachingResolver({ query, maxEntries: 2 });
    await cache.resolve('a.test', 'A');
    await cache.resolve('b.test', 'A');
    await cache.resolve('a.test', 'A'); // a is now the most recent
    await cache.resolve('c.test', 'A'); // b goes
    await cache.resolve('a.test', 'A');
    await cache.resolve('b.test', 'A');
    assert.deepEqual(asked, ['A a.test', 'A b.test', 'A c.test', 'A b.test']);
    assert.equal(cache.size(), 2);
  });
});

describe('DNS budget of one message', () => {
  test('a lookup slower than the budget fails with ETIMEOUT when the budget ends, and so does every later one', async () => {
    const slow = { resolve: () => new Promise<never>(() => {}) };
    const budget = createLookupBudget({ cache: slow, budgetMs: 50 });
    const started = Date.now();
    await assert.rejects(budget.resolver('slow.test', 'TXT'), { code: 'ETIMEOUT' });
    assert.ok(Date.now() - started < 1_000);
    await assert.rejects(budget.resolver('next.test', 'TXT'), { code: 'ETIMEOUT' });
    assert.equal(budget.exhausted(), true);
    assert.equal(budget.lookups(), 2);
  });

  test('answers within the budget pass through; record types we do not handle are ENOTIMP', async () => {
    const cache = { resolve: () => Promise.resolve([['v=DKIM1; p=abc']]) };
    const budget = createLookupBudget({ cache, budgetMs: 1_000 });
    assert.deepEqual(await budget.resolver('s._domainkey.example.test', 'TXT'), [['v=DKIM1; p=abc']]);
    await assert.rejects(budget.resolver('example.test', 'SRV'), { code: 'ENOTIMP' });
    assert.equal(budget.exhausted(), false);
  });
});
