import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { crlfStream, messageFacts } from './crlf-stream.ts';
import { hasEightBit, headerSection, toCrlf } from './smtp-client-message.ts';

async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) out.push(c);
  return Buffer.concat(out);
}
// Every way of cutting `b` in two and three pieces, plus byte by byte.
function splits(b: Buffer): Buffer[][] {
  const out: Buffer[][] = [[b], [...b].map((x) => Buffer.from([x]))];
  for (let i = 0; i <= b.length; i++) {
    out.push([b.subarray(0, i), b.subarray(i)]);
    for (let j = i; j <= b.length; j++) out.push([b.subarray(0, i), b.subarray(i, j), b.subarray(j)]);
  }
  return out;
}

describe('crlfStream', () => {
  const cases = ['a\r\nb', 'a\nb\n', 'a\rb\r', '\r\n\r\n', '\n\r', '\r\r\n\n', 'x\r', '\r', '\n', '', 'ab\r\n\rc\nd'];
  for (const c of cases) {
    test(`matches toCrlf for ${JSON.stringify(c)} however it is split`, async () => {
      const whole = Buffer.from(c, 'latin1');
      const want = toCrlf(whole);
      for (const parts of splits(whole)) {
        assert.deepEqual(await collect(Readable.from(parts).pipe(crlfStream())), want, JSON.stringify(parts.map(String)));
      }
    });
  }
});

describe('messageFacts', () => {
  test('size, 8-bit and header section as the whole-buffer functions see them', async () => {
    const message = toCrlf(Buffer.from('Subject: caf\u00e9\nFrom: a@b\n\nbody\nline\n', 'utf8'));
    for (const parts of splits(message)) {
      const facts = await messageFacts(Readable.from(parts));
      assert.equal(facts.size, message.length);
      assert.equal(facts.eightBit, hasEightBit(message));
      assert.deepEqual(facts.header, headerSection(message));
    }
  });

  test('a message without a body is all header', async () => {
    const message = Buffer.from('Subject: x\r\n');
    const facts = await messageFacts(Readable.from([message]));
    assert.deepEqual(facts.header, headerSection(message));
    assert.equal(facts.eightBit, false);
  });
});
