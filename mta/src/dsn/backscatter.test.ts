import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backscatterRisk } from './backscatter.ts';

test('only an SPF or DMARC "fail" makes a sender likely forged', () => {
  assert.equal(backscatterRisk({}), null);
  assert.equal(backscatterRisk({ senderAuth: { spf: 'pass', dmarc: 'pass' } }), null);
  assert.equal(backscatterRisk({ senderAuth: { spf: 'softfail', dmarc: null } }), null);
  assert.equal(backscatterRisk({ senderAuth: { spf: 'temperror', dmarc: 'temperror' } }), null);
  assert.equal(backscatterRisk({ senderAuth: { spf: 'fail', dmarc: null } }), 'spf=fail');
  assert.equal(backscatterRisk({ senderAuth: { spf: 'fail', dmarc: 'fail' } }), 'spf=fail dmarc=fail');
});
