import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAddress, normalizeDomain, withoutSubaddress } from './address.ts';

test('addresses compare in lowercase with the domain in ASCII form and no trailing dot', () => {
  assert.equal(normalizeAddress('Alice@Example.COM')?.address, 'alice@example.com');
  assert.equal(normalizeAddress('alice@example.com.')?.address, 'alice@example.com');
  assert.equal(normalizeAddress('u@bücher.example')?.address, 'u@xn--bcher-kva.example');
  assert.equal(normalizeAddress('u@XN--BCHER-KVA.example')?.address, 'u@xn--bcher-kva.example');
});

test('the domain is what follows the last @, so quoted @ stay in the local part', () => {
  assert.deepEqual(normalizeAddress('"u@ext"@example.com'), {
    address: '"u@ext"@example.com',
    local: '"u@ext"',
    domain: 'example.com',
  });
});

test('a quoted local part that is a dot-atom is the unquoted address (RFC 5321 §4.1.2)', () => {
  assert.equal(normalizeAddress('"bob"@example.com')?.address, 'bob@example.com');
  assert.equal(normalizeAddress('"Bob.Smith"@Example.com')?.address, 'bob.smith@example.com');
  assert.equal(normalizeAddress('"b\\ob"@example.com')?.address, 'bob@example.com');
  assert.equal(normalizeAddress('"bob,smith"@example.com')?.address, '"bob,smith"@example.com');
  assert.equal(normalizeAddress('"a..b"@example.com')?.address, '"a..b"@example.com');
});

test('all-numeric domains are not DNS names (they would be read as IP addresses)', () => {
  assert.equal(normalizeAddress('x@2130706433'), null);
  assert.equal(normalizeAddress('x@10.0.0.1'), null);
  assert.equal(normalizeDomain('127.1'), null);
  assert.equal(normalizeDomain('0x7f.example'), '0x7f.example');
  assert.equal(normalizeDomain('123.example'), '123.example');
});

test('anything that is not local@domain is refused', () => {
  for (const bad of [
    '',
    '@example.com',
    'alice@',
    'alice',
    'a b@example.com',
    'a@exa mple.com',
    `${'x'.repeat(65)}@example.com`,
    'a@-bad.com',
    'a@bad-.com',
    'nul\u0000@example.com',
  ]) {
    assert.equal(normalizeAddress(bad), null, JSON.stringify(bad));
  }
});

test('domains longer than 253 octets or with labels over 63 are not DNS names', () => {
  assert.equal(normalizeDomain(`${'a'.repeat(64)}.com`), null);
  assert.equal(normalizeDomain(`${'a.'.repeat(127)}com`), null);
  assert.equal(normalizeDomain('example.com'), 'example.com');
});

test('the subaddress base drops the +tag of the local part, and only that', () => {
  assert.equal(withoutSubaddress('alice+news@example.com'), 'alice@example.com');
  assert.equal(withoutSubaddress('alice+a+b@example.com'), 'alice@example.com');
  assert.equal(withoutSubaddress('alice@example.com'), null);
  assert.equal(withoutSubaddress('+news@example.com'), null);
});
