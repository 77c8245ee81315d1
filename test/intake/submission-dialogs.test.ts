// Submission (587 with STARTTLS, 465 with implicit TLS) as SMTP transcripts: TLS before
// AUTH, AUTH against the bundle's hashes, relay only for authenticated users and only from
// their own addresses, and Date/Message-ID completed on submitted mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, splitAddedHeaders, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';

const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const alice = plain('alice@example.com', 'change-me-alice');
const bob = plain('bob@example.com', 'change-me-bob');

const starttls = `
s: 220 mx.example.com ESMTP Stafette
c: EHLO laptop.example
s- 250-STARTTLS
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s- 250-AUTH PLAIN LOGIN
s! 250-STARTTLS
s: 250 *`;

describe('intake - submission dialogs', () => {
  let f: IntakeFixture;

  before(async () => {
    f = await startIntakeFixture({ name: 'nats-submission-dialogs' });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('AUTH before TLS: not advertised, refused with 538; MAIL without AUTH: 530 (relay attempt without AUTH)', async () => {
    await playTranscript(
      f.submission,
      `
s: 220 mx.example.com ESMTP Stafette
c: EHLO laptop.example
s- 250-STARTTLS
s! 250-AUTH*
s: 250 *
c: AUTH PLAIN ${alice}
s: 538 5.7.0 *
c: MAIL FROM:<alice@example.com>
s: 530 5.7.0 *
c: RCPT TO:<friend@elsewhere.example>
s: 5* *
c: QUIT
s: 221 *`,
    );
  });

  test('after STARTTLS: a wrong password gets 535 5.7.8 and the third failure closes the session with 421', async () => {
    await playTranscript(
      f.submission,
      `${starttls}
c: AUTH PLAIN ${plain('alice@example.com', 'wrong')}
s: 535 5.7.8 Authentication credentials invalid
c: AUTH PLAIN ${plain('nobody@example.com', 'change-me-alice')}
s: 535 5.7.8 Authentication credentials invalid
c: AUTH LOGIN
s: 334 *
c: ${b64('bob@example.com')}
s: 334 *
c: ${b64('change-me-alice')}
s: 421 4.7.0 Too many authentication failures, closing connection
closed`,
    );
  });

  test('wrong sendAs: bob may not send as alice (553 5.7.1), nor as <>; alice may use any @example.com address', async () => {
    await playTranscript(
      f.submission,
      `${starttls}
c: AUTH PLAIN ${bob}
s: 235 2.7.0 *
c: MAIL FROM:<alice@example.com>
s: 553 5.7.1 Sender address not owned by the authenticated user
c: MAIL FROM:<>
s: 553 5.7.1 *
c: MAIL FROM:<bob@example.com>
s: 250 2.1.0 Accepted
c: QUIT
s: 221 *`,
    );
    await playTranscript(
      f.submission,
      `${starttls}
c: AUTH PLAIN ${alice}
s: 235 2.7.0 *
c: MAIL FROM:<newsletter@example.com>
s: 250 2.1.0 Accepted
c: QUIT
s: 221 *`,
    );
  });

  test('an authenticated user relays to other domains; the stored message is what was sent plus Received, Date and Message-ID', async () => {
    const sent = 'From: Alice <alice@example.com>\r\nTo: friend@elsewhere.example\r\nSubject: hello\r\n\r\nHi there,\r\nsee you.\r\n';
    const { log } = await playTranscript(
      f.submission,
      `${starttls}
c: AUTH PLAIN ${alice}
s: 235 2.7.0 *
c: MAIL FROM:<alice@example.com> BODY=8BITMIME
s: 250 2.1.0 Accepted
c: RCPT TO:<friend@elsewhere.example>
s: 250 2.1.5 Accepted
c: RCPT TO:<nobody@nowhere.example>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c! ${sent.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const queueId = queueIdOf(log.join('\n'));
    const stored = await f.stored(queueId);
    assert.equal(stored.record.listener, 'submission');
    assert.equal(stored.record.client.authUser, 'alice@example.com');
    assert.equal(stored.record.client.tls?.protocol, 'TLSv1.3');
    assert.deepEqual(stored.record.envelope.mailFrom, { address: 'alice@example.com', params: [{ name: 'BODY', value: '8BITMIME' }] });
    const { headers, rest } = splitAddedHeaders(stored.body, 3);
    assert.match(
      headers[0]!,
      /^Received: from laptop\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.com \(Stafette\) with ESMTPSA \(TLSv1\.3 cipher TLS_\w+\)\r\n\tid [0-9A-Z]{26};\r\n\t\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/,
    );
    assert.match(headers[1]!, /^Date: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/);
    assert.equal(headers[2], `Message-ID: <${queueId}@mx.example.com>`);
    assert.equal(rest.toString('latin1'), sent, 'byte-identical to what was sent');
  });

  test('implicit TLS (465): AUTH LOGIN, and a message that has Date and Message-ID keeps them', async () => {
    const sent = 'Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <mine@laptop.example>\r\nSubject: kept\r\n\r\nbody\r\n';
    const { log } = await playTranscript(
      { ...f.submissions, implicitTls: true },
      `
s: 220 mx.example.com ESMTP Stafette
c: EHLO laptop.example
s- 250-AUTH PLAIN LOGIN
s: 250 *
c: AUTH LOGIN
s: 334 *
c: ${b64('alice@example.com')}
s: 334 *
c: ${b64('change-me-alice')}
s: 235 2.7.0 *
c: MAIL FROM:<alice@example.com>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c! ${sent.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.equal(stored.record.listener, 'submissions');
    const { headers, rest } = splitAddedHeaders(stored.body, 1);
    assert.match(headers[0]!, /^Received: .* with ESMTPSA .* for <bob@example\.com>;/s);
    assert.equal(rest.toString('latin1'), sent);
  });
});
