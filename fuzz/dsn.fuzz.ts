// Fuzzing DSN parameter parsing and the notice builder (mta/src/dsn/params.ts, report.ts,
// docs/fuzzing.md): any RET/ENVID/NOTIFY/ORCPT values give a result or a refusal (an
// SmtpError), never an exception; xtext round-trips; what goes to a next hop or into a notice
// field has no control characters and is bounded; a notice built from hostile strings has no
// bare CR or LF, no injected header field and no line over the 998-octet limit outside the
// returned message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SmtpError } from '../mta/src/errors.ts';
import { encodeXtext, nextHopParams, parseMailDsnParams, parseRcptDsnParams, type Param } from '../mta/src/dsn/params.ts';
import { buildNotice, fieldValue, type NoticeAction } from '../mta/src/dsn/report.ts';
import { sha256Hex, type QueueRecord } from '../mta/src/queue/record.ts';
import { fuzz, trickyBytes, trickyString } from './settings.ts';

const names = fc.constantFrom('RET', 'ret', 'ENVID', 'Envid', 'REQUIRETLS', 'NOTIFY', 'notify', 'ORCPT', 'BODY', 'SIZE', 'SMTPUTF8', '');
const values = fc.oneof(
  fc.constantFrom(
    'FULL',
    'hdrs',
    'NEVER',
    'SUCCESS,FAILURE',
    'success,delay,failure',
    'NEVER,SUCCESS',
    'FAILURE,FAILURE',
    ',',
    'rfc822;bob@example.com',
    'utf-8;ü@example.com',
    ';x',
    'rfc822;',
    '-x;y',
  ),
  trickyString(120),
  fc.integer({ min: 90, max: 600 }).map((n) => `rfc822;${'x'.repeat(n)}`),
);
const params: fc.Arbitrary<Param[]> = fc.array(fc.record({ name: names, value: fc.option(values) }), { maxLength: 6 });

// eslint-disable-next-line no-control-regex -- control characters are what must not appear
const control = /[\u0000-\u001f\u007f]/;

function xtextDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '+') {
      assert.match(text.slice(i + 1, i + 3), /^[0-9A-F]{2}$/);
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

test('dsn - parameters parse to bounded, clean values or a refusal, never an exception', () => {
  fuzz(
    fc.property(params, (ps) => {
      const mail = parseMailDsnParams(ps);
      const rcpt = parseRcptDsnParams(ps);
      if (mail instanceof SmtpError) assert.ok(mail.code >= 500 && mail.code < 600);
      else if (mail.envid !== null) assert.ok(mail.envid.length >= 1 && mail.envid.length <= 100 && !control.test(mail.envid));
      if (rcpt instanceof SmtpError) assert.ok(rcpt.code >= 500 && rcpt.code < 600);
      else if (rcpt.orcpt) {
        assert.ok(rcpt.orcpt.address.length <= 500 && !control.test(rcpt.orcpt.address));
        assert.match(rcpt.orcpt.type, /^[a-z0-9][a-z0-9-]*$/);
      }
      if (!(mail instanceof SmtpError) && !(rcpt instanceof SmtpError)) {
        // What goes to a next hop is one token per parameter: printable ASCII, no blank.
        const next = nextHopParams(mail, rcpt, 'bob@example.com');
        for (const p of [...next.mail, ...next.rcpt]) assert.match(p, /^[A-Z]+=[\x21-\x7e]+$/);
      }
    }),
    6000,
  );
});

test('dsn - xtext encodes to printable ASCII and decodes to the UTF-8 of the value', () => {
  fuzz(
    fc.property(fc.oneof(trickyString(200), fc.string({ unit: 'binary', maxLength: 100 })), (value) => {
      const encoded = encodeXtext(value);
      assert.match(encoded, /^([\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/);
      assert.deepEqual(xtextDecode(encoded), Buffer.from(value, 'utf8'));
    }),
    4500,
  );
});

test('dsn - fieldValue removes control characters, collapses blanks, caps octets and is idempotent', () => {
  fuzz(
    fc.property(fc.oneof(trickyString(1200), fc.string({ unit: 'binary', maxLength: 300 })), fc.integer({ min: 1, max: 1000 }), (text, max) => {
      const clean = fieldValue(text, max);
      assert.ok(!control.test(clean));
      assert.ok(!/\s\s/.test(clean) && clean === clean.trim());
      assert.ok(Buffer.byteLength(clean) <= max + 3, `${Buffer.byteLength(clean)} octets`);
      // What was not cut is its own clean form.
      if (!clean.endsWith('...') || Buffer.byteLength(clean) <= max) assert.equal(fieldValue(clean, max), clean);
    }),
    4500,
  );
});

const actions = fc.constantFrom<NoticeAction>('failed', 'delayed', 'delivered', 'relayed', 'expanded');
const hostile = fc.oneof(
  trickyString(300),
  fc.integer({ min: 300, max: 1200 }).map((n) => '€'.repeat(n)),
  fc.constantFrom('a\r\nBcc: x@evil.example', '--=_stafette_0', 'bob@example.com'),
);
const notice = fc.record({
  mailFrom: hostile,
  mailParams: params,
  recipients: fc.array(
    fc.record({
      address: hostile,
      params,
      action: actions,
      code: fc.oneof(fc.integer({ min: 200, max: 599 }), fc.integer()),
      enhanced: fc.oneof(fc.constantFrom('5.1.1', '4.4.7', '2.0.0', '5.7.1\r\nX: y'), trickyString(12)),
      text: hostile,
      remoteMta: fc.option(hostile, { nil: undefined }),
      expired: fc.option(fc.boolean(), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  original: fc.oneof(trickyBytes(4096), fc.constant(new Uint8Array(Buffer.from('Subject: hi\r\n--=_stafette_000000000000000000000000\r\n\r\nbody\n.\r\n')))),
  reportingMta: hostile,
});

const noticeFields = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'Auto-Submitted', 'MIME-Version', 'Content-Type'];

test('dsn - a notice built from hostile strings has no bare CR/LF, no injected field and bounded lines', () => {
  fuzz(
    fc.property(notice, (n) => {
      const record: QueueRecord = {
        v: 1,
        queueId: '01KAQ3X5Z8D9T0M2N4P6R8S0TV',
        receivedAt: '2026-11-22T11:00:00.000Z',
        listener: 'mx',
        client: { ip: '192.0.2.7', helo: 'x', tls: null, authUser: null },
        envelope: { mailFrom: { address: n.mailFrom, params: n.mailParams }, rcptTo: n.recipients.map((r) => ({ address: r.address, params: r.params })) },
        body: { kind: 'inline', size: n.original.length, sha256: sha256Hex(n.original) },
      };
      const out = buildNotice({
        record,
        originalMessage: n.original,
        recipients: n.recipients.map((r) => ({
          recipient: { address: r.address, params: r.params },
          action: r.action,
          reply: { code: r.code, enhanced: r.enhanced, text: r.text },
          ...(r.remoteMta !== undefined ? { remoteMta: r.remoteMta } : {}),
          ...(r.expired !== undefined ? { expired: r.expired } : {}),
          willRetryUntil: new Date('2026-11-27T11:00:00Z'),
        })),
        reportingMta: n.reportingMta,
        dsnQueueId: '01KAQ3X5Z8D9T0M2N4P6R8S0TW',
        now: new Date('2026-11-23T11:00:00Z'),
        randomHex: () => '0'.repeat(24),
      });
      for (let i = 0; i < out.length; i++) {
        if (out[i] === 0x0d) assert.equal(out[i + 1], 0x0a, `bare CR at ${i}`);
        if (out[i] === 0x0a) assert.equal(out[i - 1], 0x0d, `bare LF at ${i}`);
      }
      const text = out.toString('latin1');
      const headerEnd = text.indexOf('\r\n\r\n');
      const fields = text
        .slice(0, headerEnd)
        .split('\r\n')
        .map((l) => l.slice(0, l.indexOf(':')));
      assert.deepEqual(fields, noticeFields);
      // The parts we write (all but the returned original, the last part) keep to 998 octets a line.
      const lastPart = text.lastIndexOf('\r\nContent-Type: ');
      for (const line of text.slice(0, lastPart).split('\r\n')) assert.ok(line.length <= 998, `a ${line.length}-octet line: ${line.slice(0, 60)}...`);
    }),
    1200,
  );
});
