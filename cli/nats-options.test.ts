// How `stafette mta` and `stafette queue` turn --nats and the environment into connect options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsServerOptions } from './nats-options.ts';

test('--nats takes several comma-separated servers', () => {
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222, nats://b:4222,,' }, {}), { servers: ['nats://a:4222', 'nats://b:4222'] });
});

test('credentials come from the environment only: user and password, or a token', () => {
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222' }, { STAFETTE_NATS_USER: 'mta', STAFETTE_NATS_PASSWORD: 's3cret' }), {
    servers: ['nats://a:4222'],
    user: 'mta',
    pass: 's3cret',
  });
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222' }, { STAFETTE_NATS_TOKEN: 't' }), { servers: ['nats://a:4222'], token: 't' });
});

test('the MTA may have one user per role, from the environment', () => {
  const env = { STAFETTE_NATS_INTAKE_USER: 'in', STAFETTE_NATS_INTAKE_PASSWORD: 'a', STAFETTE_NATS_DELIVERY_USER: 'out', STAFETTE_NATS_DELIVERY_PASSWORD: 'b' };
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222' }, env), {
    servers: ['nats://a:4222'],
    intake: { user: 'in', pass: 'a' },
    delivery: { user: 'out', pass: 'b' },
  });
});

test('TLS: a CA file, a client certificate with its key, or a tls:// URL turn it on', () => {
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222', natsCa: '/ca.pem' }, {}).tls, { caFile: '/ca.pem' });
  assert.deepEqual(natsServerOptions({ nats: 'tls://a:4222' }, {}).tls, {});
  assert.deepEqual(natsServerOptions({ nats: 'nats://a:4222', natsCert: '/c.pem', natsKey: '/k.pem' }, {}).tls, { certFile: '/c.pem', keyFile: '/k.pem' });
  assert.throws(() => natsServerOptions({ nats: 'nats://a:4222', natsCert: '/c.pem' }, {}), /go together/);
  assert.equal(natsServerOptions({ nats: 'nats://a:4222' }, {}).tls, undefined);
});
