// DSN (RFC 3461) end to end: a real sending client (Python's smtplib with mail and rcpt
// options) asks a real `stafette mta` for notices; the notices it gets are parsed as
// multipart/report by Python's email package. Success for a local mailbox (delivered), for a
// next hop without DSN (relayed), failure with RET=HDRS (headers only), NOTIFY=NEVER (nothing),
// REQUIRETLS toward a hop without it (bounced, 5.7.30), and one delay notice for mail a next hop
// keeps deferring (NOTIFY=SUCCESS,DELAY,FAILURE, as Postfix's sendmail -N asks).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { stopAll, waitFor } from '../harness/process.ts';
import { alice, startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

interface Report {
  content_type: string;
  report_type: string;
  subject: string;
  parts: string[];
  per_message: Record<string, string>;
  recipients: Record<string, string>[];
  returned: string | null;
}

function send(req: object): { code: number; reply: string } {
  return JSON.parse(execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'smtplib-send.py')], { input: JSON.stringify(req), encoding: 'utf8' })) as {
    code: number;
    reply: string;
  };
}

function parse(message: Buffer): Report {
  return JSON.parse(execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'parse-report.py')], { input: message, encoding: 'utf8' })) as Report;
}

const body = (subject: string) =>
  `From: ${alice.user}\r\nTo: someone\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@example.test>\r\n\r\nthe secret body of ${subject}\r\n`;

describe('delivery status notifications a sending MTA asked for', () => {
  let m: StandardsMta;
  before(async () => {
    // Delay notices after 3 s instead of 4 h, so one comes during the test (retries every 2 s).
    m = await startStandardsMta('dsn', { mtaArgs: ['--delay-notice-after', '3s'] });
  });
  after(async () => {
    await m.close();
    await stopAll();
  });

  const submit = (o: { to: string[]; subject: string; mail_options?: string[]; rcpt_options?: string[] }) =>
    send({
      host: m.submission.host,
      port: m.submission.port,
      starttls: true,
      login: [alice.user, alice.pass],
      from: alice.user,
      message: body(o.subject),
      ...o,
    });

  async function notices(count: number): Promise<Report[]> {
    await waitFor(`${count} notices in alice's mailbox`, () => m.mailbox(alice.user).length >= count, { timeoutMs: 30_000 });
    return m.mailbox(alice.user).map(parse);
  }

  test('success into a local mailbox, relayed to a hop without DSN, failure with RET=HDRS; NOTIFY=NEVER asks for nothing', async () => {
    assert.equal(
      submit({
        subject: 'to bob',
        to: ['bob@example.test'],
        mail_options: ['ENVID=QQ314159'],
        rcpt_options: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;Bob@Example.test'],
      }).code,
      250,
    );
    assert.equal(submit({ subject: 'to carol', to: ['carol@far.test'], rcpt_options: ['NOTIFY=SUCCESS'] }).code, 250);
    assert.equal(submit({ subject: 'to reject', to: ['reject@far.test'], mail_options: ['RET=HDRS'], rcpt_options: ['NOTIFY=FAILURE'] }).code, 250);
    assert.equal(submit({ subject: 'never', to: ['reject@far.test'], rcpt_options: ['NOTIFY=NEVER'] }).code, 250);
    const reports = await notices(3);
    for (const r of reports) {
      assert.equal(r.content_type, 'multipart/report');
      assert.equal(r.report_type, 'delivery-status');
      assert.deepEqual(r.parts.slice(0, 2), ['text/plain', 'message/delivery-status']);
    }
    const byAction = new Map(reports.map((r) => [r.recipients[0]!.action, r]));
    const delivered = byAction.get('delivered')!;
    assert.equal(delivered.per_message['original-envelope-id'], 'QQ314159');
    assert.equal(delivered.recipients[0]!['final-recipient'], 'rfc822; bob@example.test');
    assert.equal(delivered.recipients[0]!['original-recipient'], 'rfc822; Bob@Example.test');
    assert.match(delivered.recipients[0]!.status ?? '', /^2\./);
    const relayed = byAction.get('relayed')!;
    assert.equal(relayed.recipients[0]!['final-recipient'], 'rfc822; carol@far.test');
    const failed = byAction.get('failed')!;
    assert.equal(failed.recipients[0]!.status, '5.1.1');
    assert.equal(failed.parts[2], 'text/rfc822-headers');
    assert.match(failed.returned!, /Subject: to reject/);
    assert.doesNotMatch(failed.returned!, /secret body/);
    // No fourth notice: NOTIFY=NEVER.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(m.mailbox(alice.user).length, 3);
  });

  test('RET=FULL returns the whole message with a failure', async () => {
    assert.equal(submit({ subject: 'full return', to: ['reject@far.test'], mail_options: ['RET=FULL'] }).code, 250);
    const full = (await notices(4)).find((r) => r.subject.startsWith('Undelivered') && r.parts[2] === 'message/rfc822');
    assert.ok(full, 'a failure notice with the message');
    assert.match(full.returned!, /the secret body of full return/);
  });

  test('REQUIRETLS toward a next hop without it bounces with 5.7.30', async () => {
    assert.equal(submit({ subject: 'must be protected', to: ['carol@far.test'], mail_options: ['REQUIRETLS'] }).code, 250);
    const bounce = (await notices(5)).find((r) => r.recipients[0]?.status === '5.7.30');
    assert.ok(bounce, 'a 5.7.30 failure notice');
    assert.equal(bounce.recipients[0]!.action, 'failed');
    assert.doesNotMatch(bounce.returned ?? '', /secret body/);
  });

  test('mail the next hop keeps deferring gets one delay notice, headers only, with Will-Retry-Until', async () => {
    assert.equal(submit({ subject: 'slow mailbox', to: ['defer@far.test'], rcpt_options: ['NOTIFY=SUCCESS,DELAY,FAILURE'] }).code, 250);
    const delayed = (await notices(6)).filter((r) => r.recipients[0]?.action === 'delayed');
    assert.equal(delayed.length, 1);
    const notice = delayed[0]!;
    assert.equal(notice.recipients[0]!['final-recipient'], 'rfc822; defer@far.test');
    assert.match(notice.recipients[0]!.status ?? '', /^4\./);
    assert.ok(notice.recipients[0]!['will-retry-until'], 'Will-Retry-Until');
    assert.equal(notice.parts[2], 'text/rfc822-headers');
    assert.doesNotMatch(notice.returned ?? '', /secret body/);
    // Once: later retries (every 2 s) send no second delay notice.
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(
      m
        .mailbox(alice.user)
        .map(parse)
        .filter((r) => r.recipients[0]?.action === 'delayed').length,
      1,
    );
  });
});
