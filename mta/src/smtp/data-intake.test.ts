import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { envelopeAddress, readMessage, storedBody } from './data-intake.ts';

function streamOf(chunks: string[]): PassThrough {
  const s = new PassThrough();
  for (const c of chunks) s.write(Buffer.from(c, 'latin1'));
  s.end();
  return s;
}

describe('data intake - reading DATA', () => {
  test('a message within the limit is kept, normalised, chunk by chunk', async () => {
    const m = await readMessage(streamOf(['Subject: a\r\n\r\nx\r', '\ny\n']), 1000);
    assert.equal(Buffer.concat(m.chunks).toString('latin1'), 'Subject: a\r\n\r\nx\r\ny\r\n');
    assert.equal(m.sizeExceeded, false);
    assert.equal(m.scan.bareLf, 1);
  });

  test('past the size limit nothing more is kept, but the stream is read to its end', async () => {
    const stream = streamOf(['a'.repeat(600), 'b'.repeat(600), 'c'.repeat(600)]);
    const m = await readMessage(stream, 1000);
    assert.equal(m.sizeExceeded, true);
    assert.deepEqual(m.chunks, []);
    assert.equal(m.scan.size, 1800, 'every byte was read');
    assert.equal(stream.readableEnded, true);
  });
});

describe('data intake - what is stored', () => {
  const client = { ip: '192.0.2.1', helo: 'c.example', tls: null, authUser: 'alice@example.com' };
  const base = { queueId: 'Q1', date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), byHostname: 'mx.example.com', client, clientHostname: null, smtpUtf8: false };

  test('Received first, then Date and Message-ID when submission left them out, then the message unchanged', async () => {
    const m = await readMessage(streamOf(['Subject: s\r\n\r\nbody\r\n']), 1000);
    const body = storedBody(m, { ...base, recipients: ['a@x.example', 'b@x.example'], completeHeaders: true }).toString();
    assert.equal(
      body,
      'Received: from c.example ([192.0.2.1])\r\n\tby mx.example.com (Stafette) with ESMTPA\r\n\tid Q1;\r\n\tFri, 2 Jan 2026 03:04:05 +0000\r\n' +
        'Date: Fri, 2 Jan 2026 03:04:05 +0000\r\nMessage-ID: <Q1@mx.example.com>\r\nSubject: s\r\n\r\nbody\r\n',
    );
  });

  test('mail from MX is not completed, only traced', async () => {
    const m = await readMessage(streamOf(['Subject: s\r\n\r\nbody\r\n']), 1000);
    const body = storedBody(m, { ...base, client: { ...client, authUser: null }, recipients: ['a@x.example'], completeHeaders: false }).toString();
    assert.match(body, /^Received: [^]*for <a@x\.example>;\r\n\t[^\r]+\r\nSubject: s\r\n\r\nbody\r\n$/);
  });

  test('ESMTP parameters keep their order; a keyword without a value is stored as null', () => {
    assert.deepEqual(envelopeAddress('a@x.example', { SIZE: '10', SMTPUTF8: true, BODY: '8BITMIME' }), {
      address: 'a@x.example',
      params: [
        { name: 'SIZE', value: '10' },
        { name: 'SMTPUTF8', value: null },
        { name: 'BODY', value: '8BITMIME' },
      ],
    });
    assert.deepEqual(envelopeAddress('', false), { address: '', params: [] });
  });
});
