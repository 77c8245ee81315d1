import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnectionCounter } from './client-connections.ts';

test('an IP at its limit is refused until one of its connections closes; other IPs are not affected', () => {
  const c = createConnectionCounter(2);
  assert.equal(c.open('a', '192.0.2.1'), true);
  assert.equal(c.open('b', '192.0.2.1'), true);
  assert.equal(c.open('c', '192.0.2.1'), false);
  assert.equal(c.open('d', '192.0.2.2'), true);
  c.close('c'); // never registered: no effect
  assert.equal(c.count('192.0.2.1'), 2);
  c.close('a');
  c.close('a'); // closing twice does not free a second slot
  assert.equal(c.count('192.0.2.1'), 1);
  assert.equal(c.open('e', '192.0.2.1'), true);
  assert.equal(c.open('f', '192.0.2.1'), false);
});

test('IPv6 clients count per /64: another address of the same /64 is the same client', () => {
  const c = createConnectionCounter(1);
  assert.equal(c.open('a', '2001:db8:1:2::1'), true);
  assert.equal(c.open('b', '2001:db8:1:2::ffff'), false);
  assert.equal(c.open('c', '2001:db8:1:3::1'), true);
  assert.equal(c.count('2001:db8:1:2:abcd::9'), 1);
});
