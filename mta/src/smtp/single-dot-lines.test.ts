import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DotUnstuffer } from './single-dot-lines.ts';

function run(...chunks: string[]): string {
  const u = new DotUnstuffer();
  return chunks.map((c) => u.push(Buffer.from(c, 'latin1')).toString('latin1')).join('');
}

test('a single leading dot is deleted; a doubled one and the end-of-data line are left for smtp-server', () => {
  assert.equal(run('a\r\n.b\r\n..c\r\n.\r\n'), 'a\r\nb\r\n..c\r\n.\r\n');
  assert.equal(run('.first\r\n.\r\n'), 'first\r\n.\r\n');
});

test('a dot at the end of a chunk waits for the next byte', () => {
  assert.equal(run('a\r\n.', 'b\r\n.', '\r\n'), 'a\r\nb\r\n.\r\n');
  assert.equal(run('a\r\n.', '.b\r\n'), 'a\r\n..b\r\n');
});

test('after the end-of-data marker the rest of the chunk (pipelined commands) passes unchanged', () => {
  assert.equal(run('x\r\n.\r\n.QUIT\r\n'), 'x\r\n.\r\n.QUIT\r\n');
});

test('dots inside a line are content', () => {
  assert.equal(run('a.b\r\nc\r\n.\r\n'), 'a.b\r\nc\r\n.\r\n');
});

test('a line of one period with a bare line end is not a line with other characters: left alone', () => {
  assert.equal(run('a\n.\nb\r\n.\r\n'), 'a\n.\nb\r\n.\r\n');
});

// The rule byte by byte, as first written: the line-at-a-time DotUnstuffer must agree with it
// for every input and every way of cutting it into chunks.
function byteByByte(input: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  const atEnd = () =>
    Buffer.from([0x0d, 0x0a, ...out.slice(-5)])
      .subarray(-5)
      .equals(Buffer.from('\r\n.\r\n'));
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (lineStart && b === 0x2e) {
      if (i + 1 >= input.length) break; // held until a next byte that never comes
      const next = input[i + 1]!;
      lineStart = false;
      if (next !== 0x2e && next !== 0x0d && next !== 0x0a) continue;
      out.push(b);
      if (next === 0x2e) out.push(input[++i]!);
      continue;
    }
    out.push(b);
    lineStart = b === 0x0a;
    if (atEnd()) return Buffer.concat([Buffer.from(out), input.subarray(i + 1)]);
  }
  return Buffer.from(out);
}

test('any input cut anywhere: the same bytes as the byte-by-byte rule', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('.', '..', '\r\n', '\n', '\r', 'a', 'bc', '.\r\n', '\r\n.\r\n'), { maxLength: 40 }),
      fc.array(fc.nat(20), { maxLength: 8 }),
      (pieces, cuts) => {
        const input = Buffer.from(pieces.join(''), 'latin1');
        const chunks: string[] = [];
        let pos = 0;
        for (const cut of cuts) {
          chunks.push(input.subarray(pos, pos + cut).toString('latin1'));
          pos = Math.min(input.length, pos + cut);
        }
        chunks.push(input.subarray(pos).toString('latin1'));
        assert.equal(run(...chunks), byteByByte(input).toString('latin1'));
      },
    ),
  );
});

test('a large message passes in one pass: 8 MiB of short lines are unchanged and in the same chunks', () => {
  const chunk = Buffer.from('x'.repeat(76) + '\r\n');
  const big = Buffer.concat(Array.from({ length: 8 * 13_443 }, () => chunk));
  const u = new DotUnstuffer();
  for (let pos = 0; pos < big.length; pos += 65_536) {
    const piece = big.subarray(pos, pos + 65_536);
    assert.equal(u.push(piece), piece, 'nothing to delete: the chunk itself');
  }
});

test('DotUnstuffer gives the same bytes however the data is cut into chunks, and copies nothing without a period to delete', () => {
  const data = Buffer.from('a\r\n.x\r\n..y\r\n.\r\nz\n.w\r\n\r\n.\r\nMAIL FROM:<a@b>\r\n', 'latin1');
  const whole = new DotUnstuffer().push(data);
  for (let cut = 1; cut < data.length; cut++) {
    for (let second = cut; second < data.length; second++) {
      const u = new DotUnstuffer();
      const out = Buffer.concat([u.push(data.subarray(0, cut)), u.push(data.subarray(cut, second)), u.push(data.subarray(second))]);
      assert.equal(out.toString('latin1'), whole.toString('latin1'), `cut at ${cut} and ${second}`);
    }
  }
  // After the first end-of-data line everything passes unchanged (".w" included).
  assert.equal(whole.toString('latin1'), 'a\r\nx\r\n..y\r\n.\r\nz\n.w\r\n\r\n.\r\nMAIL FROM:<a@b>\r\n');
  const plain = Buffer.from('no dots here\r\nnone\r\n');
  assert.equal(new DotUnstuffer().push(plain).buffer, plain.buffer);
});
