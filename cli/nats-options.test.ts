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
