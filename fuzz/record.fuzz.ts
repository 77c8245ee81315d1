// Fuzzing the queue record codec (mta/src/queue/record.ts, docs/fuzzing.md): any bytes decode
// or are refused with a QueueError of kind "format" (never another exception: delivery
// classifies poison records by it); every valid record, whatever its strings hold, round-trips
// exactly; whatever decodes encodes again to something that decodes the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isQueueError } from '../mta/src/queue/errors.ts';
import { decodeRecord, encodeRecord, sha256Hex, type DecodedRecord, type QueueRecord } from '../mta/src/queue/record.ts';
import { fuzz, mutated, trickyBytes, trickyString } from './settings.ts';

// Any UTF-16 code unit, lone surrogates included (JSON.stringify escapes them).
const anyString = fc.oneof(trickyString(120), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 }));
const param = fc.record({ name: anyString, value: fc.option(anyString) });
const address = fc.record({ address: anyString, params: fc.array(param, { maxLength: 4 }) });
const queueId = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'.split('')), minLength: 26, maxLength: 26 });
const receivedAt = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());

const recordAndBody: fc.Arbitrary<{ record: QueueRecord; body: Uint8Array | null }> = fc
  .record({
    queueId,
    receivedAt,
    listener: anyString,
    client: fc.record({
      ip: anyString,
      helo: anyString,
      tls: fc.option(fc.record({ protocol: anyString, cipher: anyString })),
      authUser: fc.option(anyString),
    }),
    envelope: fc.record({ mailFrom: address, rcptTo: fc.array(address, { minLength: 1, maxLength: 4 }) }),
    inline: fc.option(trickyBytes(2048)),
    object: fc.record({
      bucket: anyString.filter((s) => s.length > 0),
      name: anyString.filter((s) => s.length > 0),
      size: fc.nat(),
      sha256: fc.constant('0'.repeat(64)),
    }),
    senderAuth: fc.option(fc.record({ spf: fc.string({ maxLength: 32 }), dmarc: fc.option(fc.string({ maxLength: 32 })) }), { nil: undefined }),
    seal: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
  })
  .map(({ inline, object, senderAuth, seal, ...rest }) => {
    const record: QueueRecord = {
      v: 1,
      ...rest,
      body: inline ? { kind: 'inline', size: inline.length, sha256: sha256Hex(inline) } : { kind: 'object', ...object },
      ...(senderAuth ? { senderAuth } : {}),
      ...(seal !== undefined ? { seal } : {}),
    };
    return { record, body: inline };
  });

function decodeOrFormatError(payload: Uint8Array): DecodedRecord | null {
  try {
    return decodeRecord(payload);
  } catch (err) {
    assert.ok(isQueueError(err) && err.kind === 'format', `decodeRecord threw something else: ${String(err)}`);
    return null;
  }
}

function sameString(a: string, b: string): void {
  assert.deepEqual(Buffer.from(a, 'utf16le'), Buffer.from(b, 'utf16le'));
}

test('record - every valid record round-trips exactly', () => {
  fuzz(
    fc.property(recordAndBody, ({ record, body }) => {
      const decoded = decodeRecord(encodeRecord(record, body));
      // fast-check builds some objects without a prototype; compare with plain ones.
      assert.deepEqual(decoded.record, JSON.parse(JSON.stringify(record)));
      sameString(JSON.stringify(decoded.record), JSON.stringify(record));
      sameString(decoded.record.envelope.mailFrom.address, record.envelope.mailFrom.address);
      assert.deepEqual(decoded.inlineBody === null ? null : Buffer.from(decoded.inlineBody), body === null ? null : Buffer.from(body));
    }),
    1500,
  );
});

test('record - arbitrary bytes decode or are refused as a format error', () => {
  const lines = fc.oneof(
    trickyBytes(512),
    fc.jsonValue().map((v) => new Uint8Array(Buffer.from(`${JSON.stringify(v)}\n`))),
    fc
      .tuple(fc.jsonValue(), trickyBytes(64))
      .map(([v, b]) => new Uint8Array(Buffer.concat([Buffer.from(`${JSON.stringify({ v: 1, ...(v as object) })}\n`), b]))),
  );
  fuzz(
    fc.property(lines, (payload) => {
      decodeOrFormatError(payload);
    }),
    3000,
  );
});

test('record - mutated records decode or are refused as a format error; what decodes re-encodes', () => {
  const mutatedRecord = recordAndBody.chain(({ record, body }) => mutated(encodeRecord(record, body)));
  fuzz(
    fc.property(mutatedRecord, (payload) => {
      const decoded = decodeOrFormatError(payload);
      if (decoded === null) return;
      const again = decodeRecord(encodeRecord(decoded.record, decoded.inlineBody));
      assert.deepEqual(again.record, decoded.record);
    }),
    3000,
  );
});
