import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeXtext, nextHopParams, parseMailDsnParams, parseRcptDsnParams, wantsNotice, type RcptDsnParams } from './params.ts';
import { SmtpError } from '../errors.ts';

const p = (name: string, value: string | null = null) => ({ name, value });
const reply = (r: unknown) => (r instanceof SmtpError ? `${r.code} ${r.enhanced} ${r.rule}` : r);

describe('DSN parameters of MAIL (RFC 3461 §4.3, §4.4) and REQUIRETLS (RFC 8689)', () => {
  test('RET, ENVID and REQUIRETLS are read, any case; other parameters are not ours', () => {
    assert.deepEqual(parseMailDsnParams([p('ret', 'hdrs'), p('ENVID', 'QQ314159'), p('REQUIRETLS'), p('SIZE', '10')]), {
      ret: 'HDRS',
      envid: 'QQ314159',
      requireTls: true,
    });
    assert.deepEqual(parseMailDsnParams([]), { ret: null, envid: null, requireTls: false });
  });

  test('malformed values are 501 5.5.4; a repeated parameter 555 5.5.4', () => {
    assert.equal(reply(parseMailDsnParams([p('RET', 'BODY')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseMailDsnParams([p('RET')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseMailDsnParams([p('ENVID', 'x'.repeat(101))])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseMailDsnParams([p('ENVID', 'a\r\nBcc: x')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseMailDsnParams([p('REQUIRETLS', 'yes')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseMailDsnParams([p('RET', 'FULL'), p('RET', 'HDRS')])), '555 5.5.4 repeated_parameter');
  });
});

describe('DSN parameters of RCPT (RFC 3461 §4.1, §4.2)', () => {
  test('NOTIFY: NEVER, or any list of SUCCESS, FAILURE, DELAY', () => {
    const never = parseRcptDsnParams([p('NOTIFY', 'never')]) as RcptDsnParams;
    assert.deepEqual([...never.notify!], []);
    const some = parseRcptDsnParams([p('NOTIFY', 'SUCCESS,delay')]) as RcptDsnParams;
    assert.deepEqual([...some.notify!], ['SUCCESS', 'DELAY']);
    assert.equal(reply(parseRcptDsnParams([p('NOTIFY', 'NEVER,SUCCESS')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseRcptDsnParams([p('NOTIFY', 'SUCCESS,SUCCESS')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseRcptDsnParams([p('NOTIFY', '')])), '501 5.5.4 bad_dsn_parameter');
  });

  test('ORCPT: <addr-type>;<address>, the type lower-cased', () => {
    assert.deepEqual(parseRcptDsnParams([p('ORCPT', 'RFC822;Bob@Example.com')]), { notify: null, orcpt: { type: 'rfc822', address: 'Bob@Example.com' } });
    assert.equal(reply(parseRcptDsnParams([p('ORCPT', 'bob@example.com')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseRcptDsnParams([p('ORCPT', 'rfc822;')])), '501 5.5.4 bad_dsn_parameter');
    assert.equal(reply(parseRcptDsnParams([p('ORCPT', 'rfc822;x\nBcc: y')])), '501 5.5.4 bad_dsn_parameter');
  });

  test('which notices a recipient wants: without NOTIFY failures and delays, never successes', () => {
    const none = { notify: null, orcpt: null };
    assert.deepEqual(
      ['SUCCESS', 'FAILURE', 'DELAY'].map((c) => wantsNotice(none, c as never)),
      [false, true, true],
    );
    const never = { notify: new Set<never>(), orcpt: null };
    assert.deepEqual(
      ['SUCCESS', 'FAILURE', 'DELAY'].map((c) => wantsNotice(never, c as never)),
      [false, false, false],
    );
  });
});

test('passed on to a next hop that offers DSN: xtext again, ORCPT defaulting to the recipient', () => {
  assert.equal(encodeXtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  const params = nextHopParams(
    { ret: 'HDRS', envid: 'id=1', requireTls: false },
    { notify: new Set(['SUCCESS', 'FAILURE'] as const), orcpt: null },
    'bob@example.com',
  );
  assert.deepEqual(params, { mail: ['RET=HDRS', 'ENVID=id+3D1'], rcpt: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;bob@example.com'] });
  assert.deepEqual(nextHopParams({ ret: null, envid: null, requireTls: false }, { notify: new Set(), orcpt: { type: 'utf-8', address: 'b@x' } }, 'b@x').rcpt, [
    'NOTIFY=NEVER',
    'ORCPT=utf-8;b@x',
  ]);
});
