import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayVouchFor, signingDomainRule } from './sign-policy.ts';
import { policyBundle } from '../policy/example-bundle.fixture.ts';

const client = (authUser: string | null) => ({ ip: '192.0.2.1', helo: 'c', tls: null, authUser });

test('authenticated submissions and our DSNs are signed; mail received on MX is not', () => {
  assert.equal(mayVouchFor({ listener: 'submission', client: client('alice@example.test') }), true);
  assert.equal(mayVouchFor({ listener: 'dsn', client: client(null) }), true);
  assert.equal(mayVouchFor({ listener: 'mx', client: client(null) }), false);
});

test('a submission signs only with a domain its login may use; our notices with any of ours', () => {
  const alice = signingDomainRule(policyBundle, { client: client('alice@example.com') });
  assert.equal(alice('example.com'), true);
  assert.equal(alice('catchall.example'), true);
  assert.equal(alice('xn--bcher-kva.example'), false);
  assert.equal(signingDomainRule(policyBundle, { client: client('bob@example.com') })('catchall.example'), false);
  assert.equal(signingDomainRule(policyBundle, { client: client(null) })('xn--bcher-kva.example'), true);
});
