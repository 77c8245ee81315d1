import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTrusted, parseProxyV2, trustedRanges } from './proxy-protocol.ts';

const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

test('trusted ranges are CIDR ranges of either family; IPv4-mapped peers match their IPv4 range', () => {
  const list = trustedRanges(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
  assert.equal(isTrusted(list, '10.1.2.3'), true);
  assert.equal(isTrusted(list, '::ffff:10.1.2.3'), true);
  assert.equal(isTrusted(list, '192.0.2.1'), true);
  assert.equal(isTrusted(list, '192.0.2.2'), false);
  assert.equal(isTrusted(list, '2001:db8:1::5'), true);
  assert.equal(isTrusted(list, '2001:db9::5'), false);
  assert.throws(() => trustedRanges(['10.0.0.0/33']), /bad prefix/);
  assert.throws(() => trustedRanges(['example.com']), /not an IP/);
});

test('v2: TCP4 and TCP6 give the source address; LOCAL keeps the peer; partial headers wait; bad ones are invalid', () => {
  const tcp4 = Buffer.from([...sig, 0x21, 0x11, 0x00, 0x0c, 198, 51, 100, 9, 127, 0, 0, 1, 0x9c, 0x40, 0x00, 0x19]);
  assert.deepEqual(parseProxyV2(tcp4), { length: 28, client: { address: '198.51.100.9', port: 40000 } });
  assert.equal(parseProxyV2(tcp4.subarray(0, 20)), 'incomplete');
  const src6 = Buffer.alloc(16);
  src6.writeUInt16BE(0x2001, 0);
  src6.writeUInt16BE(0x0db8, 2);
  src6.writeUInt16BE(7, 14);
  const tcp6 = Buffer.concat([Buffer.from([...sig, 0x21, 0x21, 0x00, 0x24]), src6, Buffer.alloc(16), Buffer.from([0x9c, 0x40, 0x00, 0x19])]);
  assert.deepEqual(parseProxyV2(tcp6), { length: 52, client: { address: '2001:db8:0:0:0:0:0:7', port: 40000 } });
  assert.deepEqual(parseProxyV2(Buffer.from([...sig, 0x20, 0x00, 0x00, 0x00])), { length: 16, client: null });
  assert.equal(parseProxyV2(Buffer.from([...sig, 0x11, 0x11, 0x00, 0x00])), 'invalid');
  assert.equal(parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')), 'invalid');
});
