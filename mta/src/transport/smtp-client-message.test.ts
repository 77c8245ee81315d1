import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasEightBit, needsSmtpUtf8, toCrlf } from './smtp-client-message.ts';

test('bare CR and bare LF become CRLF; CRLF stays', () => {
  assert.equal(toCrlf(Buffer.from('a\r.\r\nb\n.\nc\r\n')).toString('latin1'), 'a\r\n.\r\nb\r\n.\r\nc\r\n');
  assert.equal(toCrlf(Buffer.from('\nx\r')).toString('latin1'), '\r\nx\r\n');
  const clean = Buffer.from('a\r\nb\r\n');
  assert.equal(toCrlf(clean), clean);
});

test('8-bit bytes and SMTPUTF8 needs are detected', () => {
  assert.equal(hasEightBit(Buffer.from('plain')), false);
  assert.equal(hasEightBit(Buffer.from('grüße')), true);
  const utf8Header = Buffer.from('Subject: grüße\r\n\r\nbody\r\n');
  const utf8Body = Buffer.from('Subject: hi\r\n\r\ngrüße\r\n');
  assert.equal(needsSmtpUtf8('a@b.test', ['c@d.test'], utf8Body), false);
  assert.equal(needsSmtpUtf8('a@b.test', ['c@d.test'], utf8Header), true);
  assert.equal(needsSmtpUtf8('a@b.test', ['jörg@d.test'], utf8Body), true);
});
