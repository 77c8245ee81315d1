import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecipientOutcome } from './attempt.ts';
import { decide, wantsFailureNotice, type DecisionInput } from './decision.ts';
import { retryPolicy } from './retry-policy.ts';

const policy = retryPolicy({ delaysMs: [1000, 2000], jitter: 0, lifetimeMs: 10_000 });
const rcpt = (address: string, notify?: string) => ({ address, params: notify ? [{ name: 'NOTIFY', value: notify }] : [] });
const outcome = (recipient: string, status: RecipientOutcome['status'], code: number, enhanced: string): RecipientOutcome => ({
  recipient,
  status,
  reply: { code, enhanced, text: `reply for ${recipient}` },
  reason: 'test',
  remoteMta: 'mx.test',
});

function input(over: Partial<DecisionInput>): DecisionInput {
  return {
    mailFrom: rcpt('sender@a.test'),
    recipients: [rcpt('ok@a.test'), rcpt('later@b.test'), rcpt('never@c.test')],
    outcomes: [
      outcome('ok@a.test', 'delivered', 250, '2.0.0'),
      outcome('later@b.test', 'transient', 450, '4.3.0'),
      outcome('never@c.test', 'permanent', 550, '5.1.1'),
    ],
    failedAttemptsBefore: 0,
    receivedAtMs: 0,
    nowMs: 100,
    policy,
    random: () => 0.5,
    ...over,
  };
}

test('2xx is done, 4xx retries on the schedule, 5xx bounces with one DSN', () => {
  const d = decide(input({}));
  assert.deepEqual(
    d.delivered.map((o) => o.recipient),
    ['ok@a.test'],
  );
  assert.deepEqual(
    d.retry?.recipients.map((r) => r.address),
    ['later@b.test'],
  );
  assert.equal(d.retry?.notBeforeMs, 1100);
  assert.equal(d.retry?.failedAttempts, 1);
  assert.deepEqual(d.retry?.lastReplies[0], { recipient: 'later@b.test', code: 450, enhanced: '4.3.0', text: 'reply for later@b.test', remoteMta: 'mx.test' });
  assert.deepEqual(
    d.bounced.map((b) => [b.recipient.address, b.why]),
    [['never@c.test', 'permanent']],
  );
  assert.deepEqual(
    d.dsn?.map((b) => b.recipient.address),
    ['never@c.test'],
  );
});

test('the second failure waits for the second delay', () => {
  const d = decide(input({ failedAttemptsBefore: 1, nowMs: 5000 }));
  assert.equal(d.retry?.notBeforeMs, 7000);
  assert.equal(d.retry?.failedAttempts, 2);
});

test('after the lifetime a transient failure bounces as expired, keeping the remote words', () => {
  const d = decide(input({ nowMs: 10_000, failedAttemptsBefore: 6 }));
  assert.equal(d.retry, null);
  assert.deepEqual(
    d.bounced.map((b) => [b.recipient.address, b.why, b.reply.enhanced]),
    [
      ['never@c.test', 'permanent', '5.1.1'],
      ['later@b.test', 'expired', '4.3.0'],
    ],
  );
  assert.equal(d.dsn?.length, 2);
});

test('a recipient without an outcome is transient, never delivered or bounced', () => {
  const d = decide(input({ outcomes: [] }));
  assert.equal(d.delivered.length, 0);
  assert.equal(d.bounced.length, 0);
  assert.equal(d.retry?.recipients.length, 3);
  assert.equal(d.retry?.lastReplies[0]?.code, 451);
});

test('bounces of mail from the null sender are dropped (no double bounce)', () => {
  const d = decide(input({ mailFrom: rcpt('') }));
  assert.equal(d.dsn, null);
  assert.equal(d.dsnSuppressed, 'null-sender');
  assert.equal(d.bounced.length, 1);
});

test('NOTIFY=NEVER or a NOTIFY list without FAILURE asks for no DSN', () => {
  assert.equal(wantsFailureNotice(rcpt('x@y')), true);
  assert.equal(wantsFailureNotice(rcpt('x@y', 'FAILURE,DELAY')), true);
  assert.equal(wantsFailureNotice(rcpt('x@y', 'never')), false);
  assert.equal(wantsFailureNotice(rcpt('x@y', 'SUCCESS')), false);
  const d = decide(input({ recipients: [rcpt('never@c.test', 'NEVER')] }));
  assert.equal(d.dsn, null);
  assert.equal(d.dsnSuppressed, 'notify-never');
});

test('everything delivered: nothing to retry, nothing to bounce', () => {
  const d = decide(input({ recipients: [rcpt('ok@a.test')] }));
  assert.equal(d.retry, null);
  assert.equal(d.dsn, null);
  assert.equal(d.dsnSuppressed, null);
});
