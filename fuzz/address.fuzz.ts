// Fuzzing address parsing (bundle/address.ts, docs/fuzzing.md): any string gives null or a
// normalised address that is bounded, free of control characters, split at its last '@', and
// a fixed point (normalising it again changes nothing), so intake and the bundle agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { domainOf, normalizeAddress, normalizeDomain, withoutSubaddress } from '../bundle/address.ts';
import { fuzz, trickyString } from './settings.ts';

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
  fc.constantFrom('xn--', 'xn--bcher-kva', 'bücher', 'ß', '😀', 'EXAMPLE', '-a', 'a-', '123', 'x'.repeat(63), 'x'.repeat(64), ''),
);
const domainLike = fc.array(label, { minLength: 1, maxLength: 6 }).chain((labels) => fc.constantFrom('', '.', '..').map((end) => labels.join('.') + end));
const localLike = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[A-Za-z0-9+_-]{1,10}){0,2}$/),
  trickyString(80),
  trickyString(20).map((s) => `"${s}"`),
  fc.constantFrom('"bob"', '"b\\ob"', '""', '"', '"a b"', '"a@b"', 'a..b', '.a', 'x'.repeat(64), 'x'.repeat(65), 'ü'.repeat(33)),
);
const addressLike = fc.oneof(
  fc.tuple(localLike, fc.constantFrom('@', '@@', '@ ', ' @'), domainLike).map(([l, at, d]) => l + at + d),
  trickyString(300),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.integer({ min: 240, max: 300 }).map((n) => `a@${'b.'.repeat(n / 2)}com`),
);

// eslint-disable-next-line no-control-regex -- control characters are what must not appear
const control = /[\s\x00-\x1f\x7f]/;
const dnsName = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

test('address - normalizeAddress gives null or a bounded, clean local@domain', () => {
  fuzz(
    fc.property(addressLike, (raw) => {
      const a = normalizeAddress(raw);
      if (a === null) return;
      assert.equal(a.address, `${a.local}@${a.domain}`);
      assert.equal(domainOf(a.address), a.domain);
      assert.ok(Buffer.byteLength(a.local) >= 1 && Buffer.byteLength(a.local) <= 64, `local ${JSON.stringify(a.local)}`);
      assert.ok(!control.test(a.local), `control character in ${JSON.stringify(a.local)}`);
      assert.equal(a.local, a.local.toLowerCase());
      assert.ok(a.domain.length <= 253 && dnsName.test(a.domain), `domain ${JSON.stringify(a.domain)}`);
      assert.ok(!/^[0-9]+$/.test(a.domain.split('.').at(-1) ?? ''), 'numeric top-level label');
    }),
    4500,
  );
});

test('address - a normalised address is a fixed point', () => {
  fuzz(
    fc.property(addressLike, (raw) => {
      const a = normalizeAddress(raw);
      if (a === null) return;
      assert.deepEqual(normalizeAddress(a.address), a);
      const base = withoutSubaddress(a.address);
      if (base !== null) {
        assert.ok(base.length < a.address.length);
        assert.equal(domainOf(base), a.domain);
      }
    }),
    4500,
  );
});

test('address - normalizeDomain gives null or a DNS name that is its own normal form', () => {
  fuzz(
    fc.property(fc.oneof(domainLike, trickyString(80)), (raw) => {
      const d = normalizeDomain(raw);
      if (d === null) return;
      assert.ok(d.length <= 253 && dnsName.test(d), JSON.stringify(d));
      assert.equal(normalizeDomain(d), d);
    }),
    4500,
  );
});
