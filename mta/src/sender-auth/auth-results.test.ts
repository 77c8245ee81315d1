import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authservIdOf, claimsOurAuthservId, renderAuthResults } from './auth-results.ts';
import { AuthResultsFilter, maxPendingBytes } from './auth-results-filter.ts';

describe('Authentication-Results', () => {
  test('one field, our authserv-id first, one method per folded line', () => {
    assert.equal(
      renderAuthResults('mx.example.com', ['spf=pass smtp.mailfrom=a@b.test', 'dmarc=pass header.from=b.test']),
      'Authentication-Results: mx.example.com;\r\n spf=pass smtp.mailfrom=a@b.test;\r\n dmarc=pass header.from=b.test\r\n',
    );
    assert.equal(renderAuthResults('mx.example.com', []), 'Authentication-Results: mx.example.com; none\r\n');
  });

  test('texts from the message cannot add a line or a field', () => {
    const field = renderAuthResults('mx.example.com', ['dkim=fail header.d=x\r\nBcc: victim@example.com', 'spf=none\n.\r\n']);
    assert.equal(field, 'Authentication-Results: mx.example.com;\r\n dkim=fail header.d=x Bcc: victim@example.com;\r\n spf=none .\r\n');
    assert.doesNotMatch(field.replace(/\r\n /g, ''), /\r\n./);
  });

  test('the authserv-id is read through comments and quotes (RFC 8601 §2.2)', () => {
    assert.equal(authservIdOf(' mx.example.com; spf=pass'), 'mx.example.com');
    assert.equal(authservIdOf(' (comment (nested)) MX.Example.COM 1; none'), 'MX.Example.COM');
    assert.equal(authservIdOf('\r\n "mx.example.com"; none'), 'mx.example.com');
    assert.equal(authservIdOf(' (unclosed'), null);
    assert.equal(claimsOurAuthservId(' MX.EXAMPLE.COM.; spf=pass', new Set(['mx.example.com'])), true);
    assert.equal(claimsOurAuthservId(' mx.example.com.evil.test; spf=pass', new Set(['mx.example.com'])), false);
  });
});

describe('removing Authentication-Results fields that claim our authserv-id', () => {
  const message = [
    'Received: from a by b',
    'Authentication-Results: mx.example.com; spf=pass (forged)',
    'Authentication-Results: (comment)',
    '  mx.example.com;',
    '  dkim=pass header.d=bank.test',
    'authentication-results : mx.Example.com; dmarc=pass',
    'Authentication-Results: mx.sender.test; spf=pass',
    'Subject: hello',
    '',
    'Authentication-Results: mx.example.com; this is the body',
    '',
  ].join('\r\n');
  const expected = [
    'Received: from a by b',
    'Authentication-Results: mx.sender.test; spf=pass',
    'Subject: hello',
    '',
    'Authentication-Results: mx.example.com; this is the body',
    '',
  ].join('\r\n');

  function run(chunkSize: number): { out: string; removed: number } {
    const filter = new AuthResultsFilter(['MX.example.com']);
    const bytes = Buffer.from(message);
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunkSize) out.push(...filter.push(bytes.subarray(i, i + chunkSize)));
    out.push(...filter.end());
    return { out: Buffer.concat(out).toString(), removed: filter.removed };
  }

  test('ours are removed, folded or not, any case; others and the body stay, byte for byte', () => {
    assert.deepEqual(run(message.length), { out: expected, removed: 3 });
  });

  test('the result does not depend on where the chunks split', () => {
    for (const size of [1, 2, 3, 7, 16, 64]) assert.deepEqual(run(size), { out: expected, removed: 3 }, `chunks of ${size}`);
  });

  test('a field whose authserv-id stays unreadable past the bound is removed, holding no more than the bound', () => {
    const wall = `Authentication-Results: (${'x'.repeat(maxPendingBytes * 2)}\r\nSubject: s\r\n\r\nbody\r\n`;
    const filter = new AuthResultsFilter(['mx.example.com']);
    const out = Buffer.concat([...filter.push(Buffer.from(wall)), ...filter.end()]).toString();
    assert.equal(out, 'Subject: s\r\n\r\nbody\r\n');
    assert.equal(filter.removed, 1);
  });

  test('a message without a header section passes unchanged', () => {
    const filter = new AuthResultsFilter(['mx.example.com']);
    assert.equal(Buffer.concat([...filter.push(Buffer.from('\r\nbody\r\n')), ...filter.end()]).toString(), '\r\nbody\r\n');
  });
});
