import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageScanner, type MessageScan } from './message-scanner.ts';

function scanWhole(input: string | Buffer): { out: string; scan: MessageScan } {
  const s = new MessageScanner();
  const out = Buffer.concat([s.push(Buffer.from(input)), s.end()]);
  return { out: out.toString('latin1'), scan: s.scan };
}

function scanSplit(input: string, at: number[]): { out: string; scan: MessageScan } {
  const bytes = Buffer.from(input, 'latin1');
  const s = new MessageScanner();
  const parts: Buffer[] = [];
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    parts.push(s.push(bytes.subarray(from, cut)));
    from = cut;
  }
  parts.push(s.end());
  return { out: Buffer.concat(parts).toString('latin1'), scan: s.scan };
}

describe('message scanner - line endings', () => {
  test('a message with CRLF line ends passes byte for byte', () => {
    const msg = 'From: a@b\r\nSubject: hi\r\n\r\nbody\r\n.. dot-stuffed is not our business\r\n';
    const { out, scan } = scanWhole(msg);
    assert.equal(out, msg);
    assert.deepEqual([scan.bareCr, scan.bareLf, scan.size], [0, 0, Buffer.byteLength(msg)]);
  });

  test('a bare LF becomes CRLF and a bare CR becomes a space, so no smuggled end-of-data survives', () => {
    for (const [input, expected] of [
      ['a\n.\nb\r\n', 'a\r\n.\r\nb\r\n'],
      ['a\r.\r\nMAIL FROM:<x>\r\n', 'a .\r\nMAIL FROM:<x>\r\n'],
      ['a\r\n.\rb\r\n', 'a\r\n. b\r\n'],
      ['x\r\r\n', 'x \r\n'],
      ['end with CR\r', 'end with CR '],
    ]) {
      const { out } = scanWhole(`H: v\r\n\r\n${input}`);
      assert.equal(out, `H: v\r\n\r\n${expected}`, JSON.stringify(input));
      assert.doesNotMatch(out.replace(/\r\n/g, ''), /[\r\n]/, 'no CR or LF outside a CRLF pair');
    }
  });

  test('the result does not depend on where chunks are split (a CR at the end of one chunk waits for the next)', () => {
    const msg = 'Received: from x\r\nDate: now\r\n\r\nline\rwith\nstrays\r\n\r\nend\r';
    const whole = scanWhole(Buffer.from(msg, 'latin1'));
    for (let cut = 0; cut <= msg.length; cut++) {
      const split = scanSplit(msg, [cut]);
      assert.equal(split.out, whole.out, `split at ${cut}`);
      assert.deepEqual(split.scan, whole.scan, `split at ${cut}`);
    }
  });
});

describe('message scanner - measurements', () => {
  test('counts Received headers (any case, obsolete blank before the colon) but not body lines or continuations', () => {
    const msg = 'Received: a\r\n  received: not a field\r\nRECEIVED : b\r\nreceived:c\r\nReceivedX: no\r\n\r\nReceived: in the body\r\n';
    assert.equal(scanWhole(msg).scan.receivedCount, 3);
  });

  test('finds Message-ID and Date only in the header section', () => {
    assert.deepEqual(pick(scanWhole('message-id: <1@x>\r\nDATE: today\r\n\r\n').scan), [true, true]);
    assert.deepEqual(pick(scanWhole('Subject: x\r\n\r\nMessage-ID: <1@x>\r\nDate: today\r\n').scan), [false, false]);
  });

  test('measures the header section up to the blank line, and the longest line without CRLF', () => {
    const { scan } = scanWhole('A: 1\r\nB: 22\r\n\r\n1234567890\r\n');
    assert.equal(scan.headerSize, 'A: 1\r\nB: 22\r\n\r\n'.length);
    assert.equal(scan.longestLine, 10);
  });

  test('a message without a blank line ends its header at the first line that is not a field', () => {
    const body = 'x'.repeat(5000);
    const { scan } = scanWhole(`Subject: s\r\n${body}\r\nmore\r\n`);
    assert.equal(scan.headerSize, 'Subject: s\r\n'.length);
  });
});

function pick(s: MessageScan): [boolean, boolean] {
  return [s.hasMessageId, s.hasDate];
}
