import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord, sha256Hex, type QueueRecord } from './record.ts';
import { isQueueError } from './errors.ts';

const queueId = '01KAQ3X5Z8D9T0M2N4P6R8S0TV';

function inlineRecord(body: Uint8Array, overrides: Partial<QueueRecord> = {}): QueueRecord {
  return {
    v: 1,
    queueId,
    receivedAt: '2026-11-22T11:00:00.000Z',
    listener: 'mx',
    client: { ip: '192.0.2.7', helo: 'client.example', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, authUser: null },
    envelope: {
      mailFrom: { address: 'alice@example.com', params: [{ name: 'BODY', value: '8BITMIME' }] },
      rcptTo: [{ address: 'bob@example.org', params: [] }],
    },
    body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
    ...overrides,
  };
}

const hostileStrings = [
  '"quoted local"@example.com',
  'back\\slash\\"@example.com',
  'a\r\nRCPT TO:<evil@example.net>\r\n',
  'nul\u0000byte',
  'emoji-😀-𝄞-𠜎@bücher.example',
  'lone-surrogate-\ud800-end',
  'lone-low-\udc00',
  'x'.repeat(100_000),
  '\u2028\u2029\u200b\ufeff',
  '{"v":2}\n',
  '',
];

function assertSameBytes(actual: string, expected: string): void {
  assert.deepEqual(Buffer.from(actual, 'utf16le'), Buffer.from(expected, 'utf16le'));
}

test('record - hostile envelope strings round-trip exactly', () => {
  const body = Buffer.from('Subject: hi\r\n\r\nbody\r\n.\r\n\u0000\r', 'latin1');
  for (const s of hostileStrings) {
    const record = inlineRecord(body, {
      listener: s,
      client: { ip: s, helo: s, tls: null, authUser: s },
      envelope: {
        mailFrom: {
          address: s,
          params: [
            { name: s, value: s },
            { name: 'SMTPUTF8', value: null },
          ],
        },
        rcptTo: [
          {
            address: s,
            params: [
              { name: 'ORCPT', value: `rfc822;${s}` },
              { name: 'NOTIFY', value: 'SUCCESS,FAILURE' },
            ],
          },
          { address: 'second@example.org', params: [{ name: 'X', value: s }] },
        ],
      },
    });
    const { record: back, inlineBody } = decodeRecord(encodeRecord(record, body));
    assert.deepEqual(back, record);
    assertSameBytes(back.envelope.mailFrom.address, s);
    assertSameBytes(back.envelope.rcptTo[0]!.params[0]!.value!, `rfc822;${s}`);
    assertSameBytes(back.client.helo, s);
    assert.deepEqual(Buffer.from(inlineBody!), body);
  }
});

test('record - UTF-8 of decoded strings is byte-identical to the input UTF-8', () => {
  const utf8 = Buffer.from('"ü\\"x"@bücher.example 😀 \u0000\r\n', 'utf8');
  const s = utf8.toString('utf8');
  const body = new Uint8Array(0);
  const { record } = decodeRecord(
    encodeRecord(
      inlineRecord(body, {
        envelope: { mailFrom: { address: s, params: [] }, rcptTo: [{ address: s, params: [{ name: 'ENVID', value: s }] }] },
      }),
      body,
    ),
  );
  assert.deepEqual(Buffer.from(record.envelope.mailFrom.address, 'utf8'), utf8);
  assert.deepEqual(Buffer.from(record.envelope.rcptTo[0]!.params[0]!.value!, 'utf8'), utf8);
});

test('record - parameter order, duplicates and keyword parameters are kept', () => {
  const params = [
    { name: 'SIZE', value: '1234' },
    { name: 'BODY', value: '8BITMIME' },
    { name: 'SMTPUTF8', value: null },
    { name: 'ENVID', value: 'a+2Bb' },
    { name: 'RET', value: 'HDRS' },
    { name: 'size', value: '1' },
  ];
  const body = Buffer.from('x');
  const record = inlineRecord(body, { envelope: { mailFrom: { address: '', params }, rcptTo: [{ address: 'b@c', params }] } });
  assert.deepEqual(decodeRecord(encodeRecord(record, body)).record.envelope, record.envelope);
});

test('record - every byte value survives in the inline body', () => {
  const body = new Uint8Array(256 * 4);
  for (let i = 0; i < body.length; i++) body[i] = i % 256;
  const decoded = decodeRecord(encodeRecord(inlineRecord(body), body));
  assert.deepEqual(decoded.inlineBody, body);
});

test('record - the header is a single line whatever the strings hold', () => {
  const body = new Uint8Array(0);
  const encoded = encodeRecord(inlineRecord(body, { listener: '\n\n\r\n' }), body);
  assert.equal(encoded.indexOf(0x0a), encoded.length - 1);
});

test('record - an object-store body has no inline bytes', () => {
  const body = Buffer.from('big');
  const record = inlineRecord(body, { body: { kind: 'object', bucket: 'mailbody', name: queueId, size: 3, sha256: sha256Hex(body) } });
  const decoded = decodeRecord(encodeRecord(record, null));
  assert.equal(decoded.inlineBody, null);
  assert.deepEqual(decoded.record.body, record.body);
});

test('record - malformed payloads are refused with a format error, never a crash', () => {
  const body = Buffer.from('hello');
  const good = encodeRecord(inlineRecord(body), body);
  const header = good.subarray(0, good.indexOf(0x0a));
  const headerJson = JSON.parse(Buffer.from(header).toString('utf8')) as Record<string, unknown>;
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Buffer.from('no newline'),
    Buffer.from('not json\n'),
    Buffer.from('[]\n'),
    Buffer.from('null\n'),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('\n')]),
    Buffer.concat([header, Buffer.from('\nhellX')]), // digest mismatch
    Buffer.concat([header, Buffer.from('\nhell')]), // truncated
    Buffer.concat([header, Buffer.from('\nhello!')]), // trailing bytes
    Buffer.from(`${JSON.stringify({ ...headerJson, v: 2 })}\nhello`),
    Buffer.from(`${JSON.stringify({ ...headerJson, extra: 1 })}\nhello`),
    Buffer.from(`${JSON.stringify({ ...headerJson, queueId: 'a.b' })}\nhello`),
    Buffer.from(`${JSON.stringify({ ...headerJson, envelope: { mailFrom: { address: '', params: [] }, rcptTo: [] } })}\nhello`),
  ];
  for (const payload of cases) {
    assert.throws(
      () => decodeRecord(payload),
      (err: unknown) => isQueueError(err) && err.kind === 'format',
    );
  }
});

test('record - encode refuses an invalid record or a body that does not match', () => {
  const body = Buffer.from('hello');
  assert.throws(() => encodeRecord(inlineRecord(body), Buffer.from('other')), isQueueError);
  assert.throws(() => encodeRecord(inlineRecord(body), null), isQueueError);
  assert.throws(() => encodeRecord(inlineRecord(body, { queueId: 'mail.queue.>' }), body), isQueueError);
});

test('record - the optional senderAuth results round-trip; records without them still decode', () => {
  const body = Buffer.from('x');
  const withAuth = inlineRecord(body, { senderAuth: { spf: 'fail', dmarc: null } });
  assert.deepEqual(decodeRecord(encodeRecord(withAuth, body)).record.senderAuth, { spf: 'fail', dmarc: null });
  assert.equal(decodeRecord(encodeRecord(inlineRecord(body), body)).record.senderAuth, undefined);
  assert.throws(
    () => encodeRecord(inlineRecord(body, { senderAuth: { spf: 'fail', dmarc: null, extra: 1 } as never }), body),
    (err: unknown) => isQueueError(err),
  );
});
