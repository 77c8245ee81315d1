import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcomesOf, parseReply, statusOfReply } from './smtp-client-reply.ts';

test('replies parse into code, enhanced code and text', () => {
  assert.deepEqual(parseReply('550 5.1.1 <x@y.test>: user unknown'), { code: 550, enhanced: '5.1.1', text: '<x@y.test>: user unknown' });
  assert.deepEqual(parseReply('250-2.0.0 first\n250 2.0.0 second'), { code: 250, enhanced: '2.0.0', text: 'first second' });
  assert.deepEqual(parseReply('451 try later'), { code: 451, enhanced: '4.0.0', text: 'try later' });
  // An enhanced code of another class than the reply is not trusted.
  assert.deepEqual(parseReply('250 5.0.0 odd'), { code: 250, enhanced: '2.0.0', text: 'odd' });
});

test('a hostile reply is transient and its text is cleaned and capped', () => {
  const weird = parseReply('999 \u0000evil\u001b[31m');
  assert.equal(weird.code, 0);
  assert.equal(statusOfReply(weird), 'transient');
  // eslint-disable-next-line no-control-regex -- the assertion is that no control character is left
  assert.ok(!/[\x00-\x1f]/.test(weird.text));
  assert.ok(parseReply(`550 ${'x'.repeat(5000)}`).text.length <= 512);
});

test('per-recipient outcomes: RCPT refusals, the final reply for the rest, MAIL refusal for all', () => {
  const refused = new Map([
    ['b@x.test', '550 5.1.1 no such user'],
    ['c@x.test', '452 4.2.2 mailbox full'],
  ]);
  const outcomes = outcomesOf(['a@x.test', 'b@x.test', 'c@x.test'], { kind: 'replies', refused, final: '250 2.0.0 queued' }, '127.0.0.2:25');
  assert.deepEqual(
    outcomes.map((o) => [o.recipient, o.status, o.reply.code]),
    [
      ['a@x.test', 'delivered', 250],
      ['b@x.test', 'permanent', 550],
      ['c@x.test', 'transient', 452],
    ],
  );
  const mail = outcomesOf(['a@x.test'], { kind: 'replies', refused: new Map(), mailRefused: '553 5.7.1 sender refused' }, 'h');
  assert.deepEqual([mail[0]!.status, mail[0]!.reply.enhanced], ['permanent', '5.7.1']);
  const broken = outcomesOf(['a@x.test'], { kind: 'broken', reason: 'ECONNRESET', afterData: true }, 'h');
  assert.deepEqual([broken[0]!.status, broken[0]!.reply.enhanced], ['transient', '4.4.2']);
});

test('an invalid reply becomes our own transient 451 4.5.0, the raw text only in the reason', () => {
  const [o] = outcomesOf(['a@x.test'], { kind: 'replies', refused: new Map(), mailRefused: '999 what' }, 'h');
  assert.deepEqual([o!.status, o!.reply.code, o!.reply.enhanced], ['transient', 451, '4.5.0']);
  assert.match(o!.reason, /999 what/);
});

test('LMTP: each recipient gets its own reply after the data; one without a reply is transient', () => {
  const perRecipient = new Map([
    ['a@x.test', '250 2.0.0 saved'],
    ['b@x.test', '552 5.2.2 over quota'],
  ]);
  const outcomes = outcomesOf(
    ['a@x.test', 'b@x.test', 'c@x.test'],
    { kind: 'replies', refused: new Map(), perRecipient, final: '552 5.2.2 over quota' },
    'lmtp:24',
  );
  assert.deepEqual(
    outcomes.slice(0, 2).map((o) => [o.recipient, o.status, o.reply.code]),
    [
      ['a@x.test', 'delivered', 250],
      ['b@x.test', 'permanent', 552],
    ],
  );
  const partial = outcomesOf(['a@x.test', 'c@x.test'], { kind: 'replies', refused: new Map(), perRecipient: new Map([['a@x.test', '250 ok']]) }, 'lmtp:24');
  assert.deepEqual(
    partial.map((o) => o.status),
    ['delivered', 'transient'],
  );
});
