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
