// Limits every pod shares (issue 14 item 3, docs/reliability.md §1), black-box: TWO real
// `stafette mta` processes on one real nats-server (the JetStream KV bucket stafette-limits),
// the submission listener of each, and plain sockets as clients. Wrong passwords spread over
// several connections to both processes hit ONE limit: after 4 failures from 127.0.0.1 (in
// total, whichever pod saw them) AUTH gets 454 4.7.0 without a password check, even with the
// right password; after 8 attempts the client is refused at connect with 421 4.7.0 by both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { authAttempt, loginBundleDir, startLimitsMta, type LimitsMta } from './limits-mta.ts';

const user = 'alice@example.test';
const pass = 'alice-secret';
const authLimits = (perIp: number) => ['--auth-failures-per-ip', String(perIp), '--auth-failures-per-account', '100', '--auth-failure-window', '600'];
const login = (password: string, reply: string, name = user) => authAttempt(name, password, reply);

describe('abuse - AUTH failures shared by two MTA processes', () => {
  let nats: NatsServer;
  let a: LimitsMta;
  let b: LimitsMta;

  before(async () => {
    const dir = loginBundleDir('abuse-shared', { [user]: pass });
    nats = await startNatsServer({ name: 'nats-abuse-shared' });
    [a, b] = await Promise.all([startLimitsMta('mta-shared-a', nats, dir, authLimits(4)), startLimitsMta('mta-shared-b', nats, dir, authLimits(4))]);
  });
  after(async () => {
    await stopAll();
    await nats?.destroy();
  });

  test('failures on both pods add up: the 5th attempt gets 454 4.7.0 even with the right password, the 9th connection 421', async () => {
    await playTranscript(a.submission, login(pass, '235 *'));
    const pods = [a, b, a, b];
    for (const pod of pods) await playTranscript(pod.submission, login('wrong', '535 5.7.8 *'));
    // 4 failures in total (2 per pod): both pods now refuse AUTH from this client without a check.
    await playTranscript(b.submission, login(pass, '454 4.7.0 Too many failed logins, try again later'));
    await playTranscript(a.submission, login(pass, '454 4.7.0 Too many failed logins, try again later'));
    await playTranscript(b.submission, login('wrong', '454 4.7.0 *'));
    await playTranscript(a.submission, login('wrong', '454 4.7.0 *'));
    // 8 attempts counted: refused at connect, by either pod.
    for (const pod of [a, b]) {
      await playTranscript(
        pod.submission,
        `
s: 421 4.7.0 Too many failed logins from your address, try again later
closed`,
      );
    }
    assert.ok(true);
  });
});

describe('abuse - a login no account can have is counted for the client only', () => {
  let nats: NatsServer;
  let mta: LimitsMta;

  before(async () => {
    const dir = loginBundleDir('abuse-login', { [user]: pass });
    nats = await startNatsServer({ name: 'nats-abuse-login' });
    mta = await startLimitsMta('mta-login', nats, dir, authLimits(20));
  });
  after(async () => {
    await stopAll();
    await nats?.destroy();
  });

  test('3,500-octet usernames get 535 and leave the MTA on NATS: the right login and a message still go through', async () => {
    // As a counter key of its own, such a name passed nats-server's 4 KiB control line and the
    // server closed the MTA's connection: every sender then got 451 until it reconnected.
    for (let i = 0; i < 3; i++) await playTranscript(mta.submission, login('wrong', '535 5.7.8 *', `${i}${'u'.repeat(3500)}`));
    await playTranscript(
      mta.submission,
      authAttempt(
        user,
        pass,
        '235 *',
        `
c: MAIL FROM:<${user}>
s: 250 *
c: RCPT TO:<bob@elsewhere.example>
s: 250 *
c: DATA
s: 354 *
c: From: <${user}>
c: To: <bob@elsewhere.example>
c: Subject: after the long logins
c:
c: still queued
c: .
s: 250 *`,
      ),
    );
    assert.doesNotMatch(readFileSync(mta.process.logFile, 'utf8'), /maximum control line|disconnect/i);
  });
});
