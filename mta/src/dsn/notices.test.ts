import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { noticeFor, type NoticeCase } from './notices.ts';
import { buildNotice, type NoticeRecipient } from './report.ts';
import type { QueueRecord } from '../queue/record.ts';

const hour = 3_600_000;
function c(notify: string | null, outcome: NoticeCase['outcome'], over: Partial<NoticeCase> = {}): NoticeCase {
  return {
    mailFrom: 'alice@example.com',
    recipient: { address: 'bob@far.test', params: notify === null ? [] : [{ name: 'NOTIFY', value: notify }] },
    outcome,
    receivedAtMs: 0,
    nowMs: 5 * hour,
    delayNotified: false,
    delayAfterMs: 4 * hour,
    ...over,
  };
}

describe('which notice a recipient gets (RFC 3461 §6)', () => {
  test('success: delivered into a mailbox, relayed to a hop without DSN, expanded by a forward; the hop with DSN reports itself', () => {
    assert.equal(noticeFor(c('SUCCESS', { status: 'delivered', via: 'mailbox' })), 'delivered');
    assert.equal(noticeFor(c('SUCCESS,FAILURE', { status: 'delivered', via: 'relay-without-dsn' })), 'relayed');
    assert.equal(noticeFor(c('SUCCESS', { status: 'delivered', via: 'forward' })), 'expanded');
    assert.equal(noticeFor(c('SUCCESS', { status: 'delivered', via: 'relay-with-dsn' })), null);
    assert.equal(noticeFor(c(null, { status: 'delivered', via: 'mailbox' })), null);
  });

  test('failure: by default and with FAILURE; not with NEVER or a list without it', () => {
    assert.equal(noticeFor(c(null, { status: 'permanent' })), 'failed');
    assert.equal(noticeFor(c('FAILURE', { status: 'expired' })), 'failed');
    assert.equal(noticeFor(c('NEVER', { status: 'permanent' })), null);
    assert.equal(noticeFor(c('SUCCESS,DELAY', { status: 'permanent' })), null);
  });

  test('delay: once, after the configured time, unless off or not wanted', () => {
    assert.equal(noticeFor(c(null, { status: 'transient' })), 'delayed');
    assert.equal(noticeFor(c(null, { status: 'transient' }, { nowMs: 3 * hour })), null);
    assert.equal(noticeFor(c(null, { status: 'transient' }, { delayNotified: true })), null);
    assert.equal(noticeFor(c(null, { status: 'transient' }, { delayAfterMs: null })), null);
    assert.equal(noticeFor(c('FAILURE', { status: 'transient' })), null);
  });

  test('never to the null sender', () => {
    assert.equal(noticeFor(c('SUCCESS,FAILURE,DELAY', { status: 'permanent' }, { mailFrom: '' })), null);
  });
});

const record = (params: { name: string; value: string | null }[]): QueueRecord => ({
  v: 1,
  queueId: '01JB0000000000000000000000',
  receivedAt: '2026-11-22T10:00:00.000Z',
  listener: 'submission',
  client: { ip: '192.0.2.1', helo: 'c', tls: null, authUser: 'alice@example.com' },
  envelope: { mailFrom: { address: 'alice@example.com', params }, rcptTo: [{ address: 'bob@far.test', params: [] }] },
  body: { kind: 'inline', size: 0, sha256: '0'.repeat(64) },
});
const original = Buffer.from('From: alice@example.com\r\nSubject: hello\r\n\r\nsecret body\r\n');
const rcpt = (action: NoticeRecipient['action'], reply = { code: 250, enhanced: '2.0.0', text: 'ok' }): NoticeRecipient => ({
  recipient: { address: 'bob@far.test', params: [{ name: 'ORCPT', value: 'rfc822;Bob@Far.test' }] },
  action,
  reply,
});
function notice(params: { name: string; value: string | null }[], recipients: NoticeRecipient[]): string {
  return buildNotice({
    record: record(params),
    originalMessage: original,
    recipients,
    reportingMta: 'mx.example.com',
    dsnQueueId: '01JB0000000000000000000001',
    now: new Date('2026-11-22T14:00:00Z'),
    randomHex: () => 'b0',
  }).toString();
}

describe('notices (RFC 3464)', () => {
  test('RET=FULL returns the whole message with a failure; RET=HDRS and no RET return headers', () => {
    const fail = rcpt('failed', { code: 550, enhanced: '5.1.1', text: 'no such user' });
    assert.match(notice([{ name: 'RET', value: 'FULL' }], [fail]), /Content-Type: message\/rfc822\r\n[^]*secret body/);
    assert.doesNotMatch(notice([{ name: 'RET', value: 'HDRS' }], [fail]), /secret body/);
    assert.match(notice([{ name: 'RET', value: 'HDRS' }], [fail]), /Content-Type: text\/rfc822-headers/);
    assert.doesNotMatch(notice([], [fail]), /secret body/);
  });

  test('a REQUIRETLS message never has its body returned', () => {
    assert.doesNotMatch(
      notice(
        [
          { name: 'RET', value: 'FULL' },
          { name: 'REQUIRETLS', value: null },
        ],
        [rcpt('failed', { code: 550, enhanced: '5.7.30', text: 'REQUIRETLS support required' })],
      ),
      /secret body/,
    );
  });

  test('each action has its subject and status class; ENVID and ORCPT are echoed', () => {
    const delivered = notice([{ name: 'ENVID', value: 'env 1' }], [rcpt('delivered')]);
    assert.match(delivered, /^Subject: Successful Mail Delivery Report\r$/m);
    assert.match(delivered, /^Original-Envelope-Id: env 1\r$/m);
    assert.match(delivered, /^Original-Recipient: rfc822; Bob@Far\.test\r\nFinal-Recipient: rfc822; bob@far\.test\r\nAction: delivered\r\nStatus: 2\.0\.0\r$/m);
    assert.match(notice([], [rcpt('relayed')]), /^Action: relayed\r$/m);
    const delayed = notice([], [{ ...rcpt('delayed', { code: 451, enhanced: '4.4.1', text: 'no answer' }), willRetryUntil: new Date('2026-11-27T10:00:00Z') }]);
    assert.match(delayed, /^Subject: Delayed Mail \(still being retried\)\r$/m);
    assert.match(delayed, /^Status: 4\.4\.1\r$/m);
    assert.match(delayed, /^Will-Retry-Until: Fri, 27 Nov 2026 10:00:00 \+0000\r$/m);
    assert.doesNotMatch(delayed, /secret body/);
  });
});
