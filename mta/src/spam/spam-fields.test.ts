import { test } from 'node:test';
import assert from 'node:assert/strict';
import { removeSpamFields } from './spam-fields.ts';

test("a sender's own spam verdict fields are removed, folded ones whole; the rest is byte for byte", () => {
  const msg =
    'From: a@b\r\nX-Spam-Status: No,\r\n\tscore=-100\r\nSubject: hi\r\nx-spam-flag: NO\r\nX-Spamd-Result: default: False\r\n\r\nX-Spam-Status: No (body)\r\n';
  const { chunks, removed } = removeSpamFields([Buffer.from(msg.slice(0, 20)), Buffer.from(msg.slice(20))]);
  assert.equal(removed, 3);
  assert.equal(Buffer.concat(chunks).toString(), 'From: a@b\r\nSubject: hi\r\n\r\nX-Spam-Status: No (body)\r\n');
});

test('a message without them is left as it is', () => {
  const chunks = [Buffer.from('Subject: x\r\n\r\nbody\r\n')];
  assert.deepEqual(removeSpamFields(chunks), { chunks, removed: 0 });
  assert.equal(removeSpamFields([Buffer.from('X-Spam: yes\r\n')]).chunks.join(''), '');
});
