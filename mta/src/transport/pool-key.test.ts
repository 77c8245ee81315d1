import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolKey } from './remote-smtp.ts';

const base = {
  relayId: 'tenant-a/smarthost',
  address: '192.0.2.1',
  port: 587,
  servername: 'smtp.example.net',
  tls: 'required' as const,
  ehloName: 'mx.example.com',
};

test('pool keys differ by relay identity and by credentials, never by chance of a shared user name', () => {
  const a = poolKey({ ...base, auth: { user: 'shared', pass: 'one' } });
  assert.equal(a, poolKey({ ...base, auth: { user: 'shared', pass: 'one' } }));
  assert.notEqual(a, poolKey({ ...base, relayId: 'tenant-b/smarthost', auth: { user: 'shared', pass: 'one' } }));
  assert.notEqual(a, poolKey({ ...base, auth: { user: 'shared', pass: 'two' } }));
  assert.notEqual(a, poolKey({ ...base, servername: 'other.example.net', auth: { user: 'shared', pass: 'one' } }));
  assert.ok(!a.includes('one'), 'the password itself is not in the key');
  assert.notEqual(poolKey({ ...base, relayId: null, auth: undefined }), poolKey({ ...base, auth: undefined }));
});
