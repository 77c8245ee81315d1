// Fuzzing the streaming message scanner (mta/src/message/message-scanner.ts, docs/fuzzing.md):
// whatever bytes arrive in DATA, in whatever chunks, the stored bytes have no CR or LF outside
// a CRLF pair, do not depend on the chunking, grow only by the bare LFs, and what it measures
// agrees with the bytes it returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MessageScanner, type MessageScan } from '../mta/src/message/message-scanner.ts';
import { fuzz, trickyBytes } from './settings.ts';

function scanIn(chunks: readonly Uint8Array[]): { out: Buffer; scan: MessageScan } {
  const scanner = new MessageScanner();
  const parts = chunks.map((c) => scanner.push(c));
  parts.push(scanner.end());
  return { out: Buffer.concat(parts), scan: scanner.scan };
}

function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

// A message-shaped input: header-ish lines, dots, long lines, bare CR/LF, raw bytes.
const messageLike = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'Received: from x\r\n',
        'received :y\n',
        'Message-ID: <a@b>\r\n',
        'DATE: now\r',
        ' folded\r\n',
        '\r\n',
        '.\r\n',
        '..\r\n',
        '\r.\r\n',
        '\n.\n',
      ),
      fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n)),
      trickyBytes(64).map((b) => Buffer.from(b).toString('latin1')),
    ),
    { maxLength: 30 },
  )
  .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'latin1')));

const input = fc.oneof(trickyBytes(8192), messageLike);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

function lines(out: Buffer): number[] {
  const lengths: number[] = [];
  let start = 0;
  for (let i = out.indexOf('\r\n'); i >= 0; i = out.indexOf('\r\n', start)) {
    lengths.push(i - start);
    start = i + 2;
  }
  if (start < out.length) lengths.push(out.length - start);
  return lengths;
}

test('message scanner - no bare CR or LF in what it stores, whatever the input and chunking', () => {
  fuzz(
    fc.property(input, cuts, (bytes, at) => {
      const { out } = scanIn(chunked(bytes, at));
      for (let i = 0; i < out.length; i++) {
        if (out[i] === 0x0d) assert.equal(out[i + 1], 0x0a, `bare CR at ${i}`);
        if (out[i] === 0x0a) assert.equal(out[i - 1], 0x0d, `bare LF at ${i}`);
      }
    }),
    1200,
  );
});

test('message scanner - output and measurements do not depend on how DATA was chunked', () => {
  fuzz(
    fc.property(input, cuts, (bytes, at) => {
      const whole = scanIn([bytes]);
      const split = scanIn(chunked(bytes, at));
      assert.deepEqual(split.out, whole.out);
      assert.deepEqual(split.scan, whole.scan);
      const byteByByte = scanIn(Array.from(bytes.subarray(0, 512), (b) => Uint8Array.of(b)));
      assert.deepEqual(byteByByte.out, scanIn([bytes.subarray(0, 512)]).out);
    }),
    900,
  );
});

test('message scanner - measurements agree with the bytes returned, and growth is bounded', () => {
  fuzz(
    fc.property(input, cuts, (bytes, at) => {
      const { out, scan } = scanIn(chunked(bytes, at));
      assert.equal(scan.size, out.length);
      assert.equal(out.length, bytes.length + scan.bareLf, 'only a bare LF adds a byte');
      assert.ok(out.length <= 2 * bytes.length);
      assert.equal(scan.longestLine, Math.max(0, ...lines(out)));
      assert.ok(scan.headerSize <= scan.size);
      assert.ok(scan.receivedCount <= lines(out).length);
    }),
    900,
  );
});

test('message scanner - normalising is idempotent', () => {
  fuzz(
    fc.property(input, (bytes) => {
      const once = scanIn([bytes]);
      const twice = scanIn([once.out]);
      assert.deepEqual(twice.out, once.out);
      assert.equal(twice.scan.bareCr, 0);
      assert.equal(twice.scan.bareLf, 0);
      assert.deepEqual({ ...twice.scan, bareCr: once.scan.bareCr, bareLf: once.scan.bareLf }, once.scan);
    }),
    900,
  );
});
