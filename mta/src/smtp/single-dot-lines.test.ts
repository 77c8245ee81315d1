import { test } from 'node:test';
import assert from 'node:assert/strict';
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
