import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueueRecord } from '../queue/record.ts';
import { buildNotice, fieldValue, type NoticeRecipient } from './report.ts';

const record: QueueRecord = {
  v: 1,
  queueId: '01JB0000000000000000000000',
  receivedAt: '2026-11-22T10:00:00.000Z',
  listener: 'submission',
  client: { ip: '192.0.2.1', helo: 'c', tls: null, authUser: 'alice' },
  envelope: {
    mailFrom: { address: 'alice@example.com', params: [{ name: 'ENVID', value: 'env-1' }] },
    rcptTo: [{ address: 'bob@c.test', params: [{ name: 'ORCPT', value: 'rfc822;bob@c.test' }] }],
  },
  body: { kind: 'inline', size: 0, sha256: '0'.repeat(64) },
};

const bounced = (over: Partial<NoticeRecipient> = {}): NoticeRecipient => ({
  recipient: { address: 'bob@c.test', params: [{ name: 'ORCPT', value: 'rfc822;bob@c.test' }] },
  action: 'failed',
  reply: { code: 550, enhanced: '5.1.1', text: 'User unknown' },
  remoteMta: 'mx.c.test',
  ...over,
});

function build(over: Partial<Parameters<typeof buildNotice>[0]> = {}): string {
  return buildNotice({
    record,
    originalMessage: Buffer.from('From: Alice <alice@example.com>\r\nSubject: hello\r\nMessage-ID: <m1@example.com>\r\n\r\nsecret body\r\n'),
    recipients: [bounced()],
    reportingMta: 'mx.example.com',
    dsnQueueId: '01JB0000000000000000000001',
    now: new Date('2026-11-22T10:05:00Z'),
    randomHex: () => 'abcdef',
    ...over,
  }).toString('utf8');
}

function parts(dsn: string): { head: string; parts: string[] } {
  const boundary = /boundary="([^"]+)"/.exec(dsn)![1]!;
  const [head, ...rest] = dsn.split(`\r\n--${boundary}`);
  return { head: head!, parts: rest.slice(0, -1).map((p) => p.replace(/^\r\n/, '')) };
}

test('a DSN is multipart/report with a human part, message/delivery-status and the original headers', () => {
  const dsn = build();
  const { head, parts: p } = parts(dsn);
  assert.match(head, /^From: Mail Delivery System <MAILER-DAEMON@mx\.example\.com>\r\n/);
  assert.match(head, /\r\nTo: <alice@example\.com>\r\n/);
  assert.match(head, /\r\nAuto-Submitted: auto-replied\r\n/);
  assert.match(head, /Content-Type: multipart\/report; report-type=delivery-status; boundary="=_stafette_abcdef"/);
  assert.equal(p.length, 3);
  assert.match(p[0]!, /^Content-Type: text\/plain; charset=utf-8/);
  assert.match(p[0]!, /<bob@c\.test>: your message could not be delivered: 550 5\.1\.1 User unknown/);
  assert.match(p[1]!, /^Content-Type: message\/delivery-status\r\n/);
  for (const field of [
    'Reporting-MTA: dns; mx.example.com',
    'Original-Envelope-Id: env-1',
    'Final-Recipient: rfc822; bob@c.test',
    'Original-Recipient: rfc822; bob@c.test',
    'Action: failed',
    'Status: 5.1.1',
    'Remote-MTA: dns; mx.c.test',
    'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
  ])
    assert.ok(p[1]!.includes(`\r\n${field}\r\n`), field);
  assert.match(p[2]!, /^Content-Type: text\/rfc822-headers/);
  assert.ok(p[2]!.includes('Subject: hello\r\nMessage-ID: <m1@example.com>'));
  assert.ok(!dsn.includes('secret body'), 'only the headers of the original are returned');
  assert.ok(dsn.endsWith('--\r\n'));
});

test('recipient strings and remote replies cannot inject headers or parts', () => {
  const evil = 'x@c.test\r\nBcc: victim@example.net\r\n\r\n--=_stafette_abcdef';
  const dsn = build({
    recipients: [
      bounced({
        recipient: { address: evil, params: [{ name: 'ORCPT', value: 'rfc822;a\r\nX-Injected: 1' }] },
        reply: { code: 550, enhanced: '5.7.1', text: 'no\r\nX-Evil: yes\u0000' },
        remoteMta: 'mx\r\nX-Evil: 2',
      }),
    ],
  });
  for (const line of dsn.split('\r\n')) {
    assert.ok(!/^(Bcc|X-Injected|X-Evil):/i.test(line), `injected line: ${line}`);
  }
  assert.equal(parts(dsn).parts.length, 3, 'no extra MIME part');
  assert.ok(!dsn.includes('\u0000'));
  assert.match(dsn, /Final-Recipient: rfc822; x@c\.test Bcc: victim@example\.net --=_stafette_abcdef\r\n/);
});

test('an expired recipient reports the last reply with its 4.x.x status; a bad code is replaced', () => {
  const dsn = build({ recipients: [bounced({ expired: true, reply: { code: 451, enhanced: '4.3.0', text: 'try later' } })] });
  assert.match(dsn, /Subject: Undelivered Mail: delivery time expired/);
  assert.match(dsn, /\r\nStatus: 4\.3\.0\r\n/);
  const odd = build({ recipients: [bounced({ expired: true, reply: { code: 999, enhanced: 'x', text: 't' } })] });
  assert.match(odd, /\r\nStatus: 4\.4\.7\r\n/);
  assert.match(odd, /Diagnostic-Code: smtp; 554 t\r\n/);
});

test('the boundary is changed when the content happens to contain it', () => {
  let n = 0;
  const dsn = build({
    originalMessage: Buffer.from('Subject: =_stafette_aaaa\r\n\r\n'),
    randomHex: () => (n++ === 0 ? 'aaaa' : 'bbbb'),
  });
  assert.match(dsn, /boundary="=_stafette_bbbb"/);
});

test('fieldValue removes control characters and caps length', () => {
  assert.equal(fieldValue('a\r\nb\tc\u0000d'), 'a b c d');
  assert.equal(fieldValue('x'.repeat(20), 5), 'xxxxx...');
});

// Found by fuzz/dsn.fuzz.ts (docs/fuzzing.md): the cap counted UTF-16 units, not octets, and the
// human-readable line joined an address, an explanation and a diagnostic of up to 900 each.
test('fieldValue caps UTF-8 octets without splitting a character; no notice line passes 998 octets', () => {
  assert.equal(fieldValue('€'.repeat(10), 7), '€€...');
  assert.equal(fieldValue('😀😀', 5), '😀...');
  assert.equal(Buffer.byteLength(fieldValue('€'.repeat(1000))), 900 + 3);
  const notice = build({
    recipients: [
      bounced({ recipient: { address: `${'x'.repeat(500)}@example.com`, params: [] }, reply: { code: 550, enhanced: '5.1.1', text: '€'.repeat(1000) } }),
    ],
  });
  for (const line of notice.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 998, `a ${line.length}-octet line`);
});
