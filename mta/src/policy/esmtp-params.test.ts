import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEsmtpParams } from './esmtp-params.ts';

test('MAIL may carry SIZE, BODY, SMTPUTF8, AUTH, the DSN parameters and REQUIRETLS; RCPT the DSN ones', () => {
  assert.equal(checkEsmtpParams('MAIL', { SIZE: '10', BODY: '8BITMIME', SMTPUTF8: true, AUTH: '<>' }), null);
  assert.equal(checkEsmtpParams('MAIL', { RET: 'HDRS', ENVID: 'x', REQUIRETLS: true }), null);
  assert.equal(checkEsmtpParams('RCPT', { NOTIFY: 'NEVER', ORCPT: 'rfc822;a@b.test' }), null);
  assert.equal(checkEsmtpParams('MAIL', false), null);
});

test('unannounced parameters are refused with 555 5.5.4, the name made printable in the reply', () => {
  const e = checkEsmtpParams('MAIL', { SIZE: '1', 'X-FOO\r\nBCC': '1' });
  assert.equal(e?.replyLine(), '555 5.5.4 MAIL parameter X-FOO??BCC not supported');
  assert.equal(checkEsmtpParams('RCPT', { SIZE: '1' })?.rule, 'unknown_parameter');
  assert.equal(checkEsmtpParams('MAIL', { NOTIFY: 'NEVER' })?.code, 555);
});
