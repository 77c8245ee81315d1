import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protocolName, renderDateField, renderMessageIdField, renderReceived, rfc5322Date } from './trace-headers.ts';

const date = new Date(Date.UTC(2026, 10, 22, 9, 5, 7));

test('Received names client, TLS, protocol, queue id and the single recipient, folded with CRLF+TAB', () => {
  const field = renderReceived({
    helo: 'client.example',
    clientHostname: 'host.example',
    clientIp: '192.0.2.1',
    byHostname: 'mx.example.com',
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    authenticated: true,
    smtpUtf8: false,
    queueId: '01KAQ0000000000000000000AA',
    recipient: 'bob@example.com',
    date,
  });
  assert.equal(
    field,
    'Received: from client.example (host.example [192.0.2.1])\r\n' +
      '\tby mx.example.com (Stafette) with ESMTPSA (TLSv1.3 cipher TLS_AES_256_GCM_SHA384)\r\n' +
      '\tid 01KAQ0000000000000000000AA for <bob@example.com>;\r\n' +
      '\tSun, 22 Nov 2026 09:05:07 +0000\r\n',
  );
});

test('client-supplied names cannot break the header: control characters, blanks and parentheses become ?', () => {
  const field = renderReceived({
    helo: 'evil\r\nBcc: x (y)',
    clientHostname: null,
    clientIp: '::1',
    byHostname: 'mx',
    tls: null,
    authenticated: false,
    smtpUtf8: false,
    queueId: 'Q',
    recipient: null,
    date,
  });
  assert.match(field, /^Received: from evil\?\?Bcc:\?x\?\?y\? \(\[::1\]\)\r\n\tby mx \(Stafette\) with ESMTP\r\n\tid Q;\r\n/);
  assert.equal(field.split('\r\n').length, 5);
});

test('protocol names follow RFC 3848 and RFC 6531', () => {
  assert.equal(protocolName({ tls: false, authenticated: false, smtpUtf8: false }), 'ESMTP');
  assert.equal(protocolName({ tls: true, authenticated: false, smtpUtf8: false }), 'ESMTPS');
  assert.equal(protocolName({ tls: true, authenticated: true, smtpUtf8: true }), 'UTF8SMTPSA');
});

test('Date and Message-ID fields', () => {
  assert.equal(rfc5322Date(date), 'Sun, 22 Nov 2026 09:05:07 +0000');
  assert.equal(renderDateField(date), 'Date: Sun, 22 Nov 2026 09:05:07 +0000\r\n');
  assert.equal(renderMessageIdField('ABC', 'mx.example.com'), 'Message-ID: <ABC@mx.example.com>\r\n');
});
