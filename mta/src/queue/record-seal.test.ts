import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRecordSeal, distrust, parseSealKeys, sealedFields } from './record-seal.ts';
import { decodeRecord, encodeRecord, sha256Hex, type QueueRecord } from './record.ts';

const key = Buffer.from('k'.repeat(44));
const other = Buffer.from('o'.repeat(44));
const body = Buffer.from('From: alice@example.test\r\n\r\nhi\r\n');
const record: QueueRecord = {
  v: 1,
  queueId: '01KBCDEFGHJKMNPQRSTVWXYZ01',
  receivedAt: '2026-12-02T01:00:00.000Z',
  listener: 'submission',
  client: { ip: '192.0.2.1', helo: 'laptop', tls: null, authUser: 'alice@example.test' },
  envelope: { mailFrom: { address: 'alice@example.test', params: [] }, rcptTo: [{ address: 'carol@far.test', params: [] }] },
  body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
};

test('a sealed record verifies after a round trip through the wire format, with the key or a later-listed one', () => {
  const sealed = { ...record, seal: createRecordSeal([key]).seal(record) };
  assert.match(sealed.seal, /^v1\.[A-Za-z0-9_-]{43}$/);
  const back = decodeRecord(encodeRecord(sealed, body)).record;
  assert.equal(createRecordSeal([key]).verify(back), 'valid');
  assert.equal(createRecordSeal([other, key]).verify(back), 'valid');
  assert.equal(createRecordSeal([other]).verify(back), 'invalid');
});

test('records without a seal still decode (backward compatible) and verify as missing', () => {
  const back = decodeRecord(encodeRecord(record, body)).record;
  assert.equal(back.seal, undefined);
  assert.equal(createRecordSeal([key]).verify(back), 'missing');
});

test('changing any trusted field breaks the seal; fewer recipients (a retry) keep it', () => {
  const seal = createRecordSeal([key]);
  const sealed = { ...record, seal: seal.seal(record) };
  for (const forged of [
    { ...sealed, client: { ...sealed.client, authUser: 'bob@example.test' } },
    { ...sealed, listener: 'dsn' },
    { ...sealed, envelope: { ...sealed.envelope, mailFrom: { address: 'ceo@example.test', params: [] } } },
    { ...sealed, body: { ...sealed.body, sha256: sha256Hex(Buffer.from('other')) } },
    { ...sealed, queueId: '01KBCDEFGHJKMNPQRSTVWXYZ02' },
    { ...sealed, seal: 'v1.' + 'A'.repeat(43) },
    { ...sealed, seal: 'v2.whatever' },
  ]) {
    assert.equal(seal.verify(forged), 'invalid', JSON.stringify(forged));
  }
  assert.equal(seal.verify({ ...sealed, envelope: { ...sealed.envelope, rcptTo: [] } }), 'valid');
  assert.match(sealedFields(record), /^\["stafette-queue-seal",1,/);
});

test('distrust removes the seal and the auth claim and makes the record MX mail', () => {
  const d = distrust({ ...record, seal: 'v1.x' });
  assert.equal(d.seal, undefined);
  assert.equal(d.client.authUser, null);
  assert.equal(d.listener, 'mx');
  assert.deepEqual(d.envelope, record.envelope);
});

test('key files: one key per line, blank lines ignored, short keys and empty files refused', () => {
  assert.deepEqual(parseSealKeys(`${'a'.repeat(32)}\n\n${'b'.repeat(40)}\n`), [Buffer.from('a'.repeat(32)), Buffer.from('b'.repeat(40))]);
  assert.throws(() => parseSealKeys('\n'), /no key/);
  assert.throws(() => parseSealKeys('short\n'), /key 1 is 5 characters; at least 32/);
});

test("a streamed body's prefix is sealed; an object record without one seals as before", () => {
  const seal = createRecordSeal([key]);
  const object = { kind: 'object', bucket: 'mailbody', name: record.queueId, size: body.length, sha256: sha256Hex(body) } as const;
  const plain: QueueRecord = { ...record, body: object };
  assert.equal(sealedFields(plain), sealedFields(record), 'no prefix: the same sealed fields as any record of that size and digest');
  const streamed: QueueRecord = { ...record, body: { ...object, prefix: 'Received: from a by b; Wed, 2 Dec 2026 01:00:00 +0000\r\n' } };
  const sealed = { ...streamed, seal: seal.seal(streamed) };
  const back = decodeRecord(encodeRecord(sealed, null)).record;
  assert.equal(seal.verify(back), 'valid');
  const forged = { ...sealed, body: { ...object, prefix: 'Authentication-Results: mx.example; dmarc=pass\r\n' } };
  assert.equal(seal.verify(forged), 'invalid');
});
