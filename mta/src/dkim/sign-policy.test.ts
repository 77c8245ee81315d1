import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayVouchFor } from './sign-policy.ts';

const client = (authUser: string | null) => ({ ip: '192.0.2.1', helo: 'c', tls: null, authUser });

test('authenticated submissions and our DSNs are signed; mail received on MX is not', () => {
  assert.equal(mayVouchFor({ listener: 'submission', client: client('alice@example.test') }), true);
  assert.equal(mayVouchFor({ listener: 'dsn', client: client(null) }), true);
  assert.equal(mayVouchFor({ listener: 'mx', client: client(null) }), false);
});
