import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDefaultDelivery } from './default-delivery.ts';

test("local is the MTA's own maildirs, none is no target", () => {
  assert.deepEqual(parseDefaultDelivery('local'), { type: 'local' });
  assert.equal(parseDefaultDelivery('none'), null);
});

test('an LMTP URL names the host and port, 24 when not given', () => {
  assert.deepEqual(parseDefaultDelivery('lmtp://dovecot.mail.svc.cluster.local:2424'), { type: 'lmtp', host: 'dovecot.mail.svc.cluster.local', port: 2424 });
  assert.deepEqual(parseDefaultDelivery('lmtp://Dovecot'), { type: 'lmtp', host: 'dovecot', port: 24 });
  assert.deepEqual(parseDefaultDelivery('lmtp://10.244.0.1:24'), { type: 'lmtp', host: '10.244.0.1', port: 24 });
  assert.deepEqual(parseDefaultDelivery('lmtp://[fd00::1]:24'), { type: 'lmtp', host: 'fd00::1', port: 24 });
});

test('anything else is refused with the forms that work', () => {
  for (const bad of ['', 'maildir', 'lmtp://', 'lmtp://host:0', 'lmtp://host:70000', 'smtp://host:25', 'lmtp://a..b', 'lmtp://host/x']) {
    assert.throws(() => parseDefaultDelivery(bad), /not local, none or lmtp:\/\/host\[:port\]/, bad);
  }
});
