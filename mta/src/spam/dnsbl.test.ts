import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsError, type LookupType, type RecordValue } from '../dns/dns-client.ts';
import { createDnsblChecker, dnsblQueryName, listingCodes, maxListingTextLength, sanitiseListingText } from './dnsbl.ts';

describe('dnsblQueryName', () => {
  test('IPv4: octets reversed (RFC 5782 §2.1)', () => {
    assert.equal(dnsblQueryName('192.0.2.99', 'bl.test'), '99.2.0.192.bl.test');
    assert.equal(dnsblQueryName('::ffff:127.0.0.2', 'bl.test'), '2.0.0.127.bl.test');
  });
  test('IPv6: 32 nibbles reversed (RFC 5782 §2.4)', () => {
    assert.equal(dnsblQueryName('2001:db8:1:2::3:4', 'bl.test'), '4.0.0.0.3.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test');
    assert.equal(dnsblQueryName('::1', 'z'), `1.${'0.'.repeat(31)}z`);
  });
  test('what is not an address has no name', () => {
    assert.equal(dnsblQueryName('localhost', 'bl.test'), null);
  });
});

test('only 127.0.0.x answers are listings', () => {
  assert.deepEqual(listingCodes(['127.0.0.2', '127.255.255.254', '10.0.0.1', '127.0.0.10']), ['127.0.0.2', '127.0.0.10']);
});

test('the TXT text is printable ASCII on one line, bounded', () => {
  assert.equal(sanitiseListingText([['Listed: ', 'see https://bl.test/q?ip=1\r\n250 fake']]), 'Listed: see https://bl.test/q?ip=1 250 fake');
  assert.equal(sanitiseListingText([['a\u00e9\u0000b']]), 'a b');
  assert.equal(sanitiseListingText([['x'.repeat(1000)]]).length, maxListingTextLength);
});

function cacheOf(records: Record<string, RecordValue[] | 'fail' | 'hang'>) {
  const asked: string[] = [];
  return {
    asked,
    cache: {
      resolve(name: string, type: LookupType): Promise<RecordValue[]> {
        asked.push(`${type} ${name}`);
        const r = records[`${type} ${name}`];
        if (r === 'hang') return new Promise(() => {});
        if (r === 'fail') return Promise.reject(new DnsError('ESERVFAIL', 'servfail'));
        return r ? Promise.resolve(r) : Promise.reject(new DnsError('ENOTFOUND', 'nxdomain'));
      },
    },
  };
}

describe('createDnsblChecker', () => {
  test('the first listing in zone order, with its text; every zone counted', async () => {
    const { cache } = cacheOf({
      'A 2.0.0.127.one.test': ['127.255.255.254'],
      'A 2.0.0.127.two.test': ['127.0.0.4'],
      'TXT 2.0.0.127.two.test': [['spam source']],
    });
    const seen: string[] = [];
    const checker = createDnsblChecker({ zones: ['one.test', 'two.test.'], cache, observer: { lookup: (z, r) => seen.push(`${z}=${r}`) } });
    assert.deepEqual(await checker.check('127.0.0.2'), { zone: 'two.test', codes: ['127.0.0.4'], text: 'spam source' });
    assert.deepEqual(seen.sort(), ['one.test=clean', 'two.test=listed']);
  });
  test('failures and timeouts are not listings (fail open)', async () => {
    const seen: string[] = [];
    const failing = createDnsblChecker({
      zones: ['one.test'],
      cache: cacheOf({ 'A 1.0.0.127.one.test': 'fail' }).cache,
      observer: { lookup: (z, r) => seen.push(r) },
    });
    assert.equal(await failing.check('127.0.0.1'), null);
    assert.deepEqual(seen, ['error']);
    const hanging = createDnsblChecker({ zones: ['one.test'], cache: cacheOf({ 'A 1.0.0.127.one.test': 'hang' }).cache, timeoutMs: 20 });
    assert.equal(await hanging.check('127.0.0.1'), null);
  });
  test('no zones: no lookups', async () => {
    const { cache, asked } = cacheOf({});
    assert.equal(await createDnsblChecker({ zones: [], cache }).check('127.0.0.1'), null);
    assert.deepEqual(asked, []);
  });
});
