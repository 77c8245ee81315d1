import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { isSmtpError } from '../errors.ts';
import { createSpamFilter, maxSymbols, parseAnswer, renderSpamFields } from './rspamd.ts';

test('parseAnswer keeps the score and well-formed symbols only', () => {
  const a = parseAnswer(
    JSON.stringify({
      score: 7.5,
      required_score: 15,
      action: 'add header',
      symbols: { R_SPF_FAIL: { score: 1 }, 'bad\r\nname': { score: 9 }, BAYES_SPAM: { score: 5.1 } },
    }),
  );
  assert.deepEqual(a, {
    score: 7.5,
    required: 15,
    action: 'add header',
    symbols: [
      { name: 'R_SPF_FAIL', score: 1 },
      { name: 'BAYES_SPAM', score: 5.1 },
    ],
  });
  assert.throws(() => parseAnswer('{"action":"reject"}'), /no score/);
  assert.throws(() => parseAnswer('<html>'));
});

test('renderSpamFields: folded, highest symbols first, bounded', () => {
  const symbols = Array.from({ length: maxSymbols + 5 }, (_, i) => ({ name: `S${i}`, score: i / 10 }));
  const fields = renderSpamFields({ score: 7.5, required: 15, action: 'add header', symbols }, true, 6);
  assert.match(fields, /^X-Spam-Status: Yes, score=7\.50 required=6\.00\r\nX-Spamd-Result: default: True \[7\.50 \/ 6\.00\];\r\n\tS34\(3\.40\);\r\n\tS33/);
  assert.match(fields, /;\r\n\t\(5 more\)\r\n$/);
  assert.equal(fields.split('\r\n\t').length, maxSymbols + 2);
});

test('an rspamd that accepts the connection but never answers: deferred after the timeout', async () => {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const filter = createSpamFilter({ url: `http://127.0.0.1:${port}`, timeoutMs: 100 });
    const started = Date.now();
    const err = await filter
      .check({
        message: [Buffer.from('Subject: x\r\n\r\nx\r\n')],
        ip: '192.0.2.1',
        helo: 'h',
        clientHostname: null,
        mailFrom: '',
        recipients: ['a@b'],
        authUser: null,
        hostname: 'mx',
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(isSmtpError(err));
    assert.equal(err.replyLine().slice(0, 9), '451 4.7.1');
    assert.ok(Date.now() - started < 2_000);
  } finally {
    server.close();
  }
});
