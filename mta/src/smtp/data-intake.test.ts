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

// An in-memory stand-in for the Object Store write (queue/body-stream.ts, tested against a
// real nats-server in test/intake/streamed-bodies.test.ts): records what it was given.
function recordingBody(highWater = Infinity) {
  const written: Buffer[] = [];
  const reserved: number[] = [];
  let queued = 0;
  return {
    written,
    reserved,
    write(chunk: Buffer, r = 0) {
      written.push(chunk);
      reserved.push(r);
      queued += chunk.length;
      return queued < highWater;
    },
    drained: () => {
      queued = 0;
      return Promise.resolve();
    },
    end: () => Promise.resolve({ name: 'x', size: Buffer.concat(written).length, sha256: '' }),
    abort: () => Promise.resolve(),
  };
}

describe('data intake - streaming a large message', () => {
  test('past the threshold with the header complete, the held chunks and the rest go to the stream; streamed chunks are reserved once each', async () => {
    const body = recordingBody(8);
    const streamed: number[] = [];
    const m = await readMessage(streamOf(['Subject: a\r\n', '\r\n0123456789', 'abcdefghij', 'klmn\r\n']), 1000, {
      spill: { thresholdBytes: 20, open: () => body, reserve: (n) => (streamed.push(n), true) },
    });
    assert.equal(m.streamed, body);
    assert.equal(Buffer.concat(body.written).toString('latin1'), 'Subject: a\r\n\r\n0123456789abcdefghijklmn\r\n');
    assert.equal(Buffer.concat(m.chunks).toString('latin1'), 'Subject: a\r\n\r\n0123456789', 'the chunks held before streaming began');
    assert.deepEqual(streamed, [10, 6], 'only the chunks after the threshold');
    assert.deepEqual(body.reserved, [0, 0, 10, 6]);
  });

  test('a header section still arriving past the threshold keeps the message held', async () => {
    const body = recordingBody();
    const m = await readMessage(streamOf(['Subject: ' + 'a'.repeat(40) + '\r\n', 'X: b\r\n\r\nbody\r\n']), 1000, {
      spill: { thresholdBytes: 20, open: () => body, reserve: () => true },
    });
    assert.equal(Buffer.concat(m.chunks).toString('latin1'), 'Subject: ' + 'a'.repeat(40) + '\r\nX: b\r\n\r\nbody\r\n');
    assert.ok(m.streamed, 'streamed once the blank line passed');
    assert.equal(Buffer.concat(body.written).toString('latin1'), Buffer.concat(m.chunks).toString('latin1'));
  });

  test('a streamed chunk the budget has no room for stops keeping data: over budget', async () => {
    const m = await readMessage(streamOf(['Subject: a\r\n\r\n' + 'x'.repeat(30), 'y'.repeat(30), 'z'.repeat(30)]), 1000, {
      spill: { thresholdBytes: 20, open: () => recordingBody(), reserve: () => false },
    });
    assert.equal(m.overBudget, true);
    assert.ok(m.streamed, 'returned so that the caller aborts it');
    assert.equal(m.scan.size, 104, 'read to the end');
  });
});
