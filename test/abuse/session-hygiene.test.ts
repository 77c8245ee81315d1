// Session hygiene (issue 14 item 4, docs/reliability.md §1) as SMTP transcripts against the real
// intake and a real nats-server: a trickling client and an overlong session are cut off with
// 421 4.4.2; refused RCPTs and error replies per session are bounded (421 4.7.0); a repeated
// RCPT counts against the recipient limit; <postmaster> and "quoted" local parts are accepted
// and stored as the address delivery routes; a single leading dot is removed (RFC 5321
// §4.5.2); a login whose password changed may not start another transaction; TLS below 1.2
// is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, renderExampleBundle, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { defaultSessionLimits } from '../../mta/src/smtp/listener-config.ts';
import type { IntakeConfig } from '../../mta/src/smtp/index.ts';
import { ignoreIntakeEvents } from '../../mta/src/smtp/intake-observer.ts';

const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

// The example bundle without example.com's catch-all (so a wrongly parsed address is refused,
// not caught) and with 3 recipients per message.
function strictExampleBundle(): IntakeConfig {
  const { bundle, secrets } = renderExampleBundle();
  return { secrets, bundle: { ...bundle, domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, catchAll: null, maxRecipients: 3 } })) } };
}

const hello = `
s: 220 mx.example.com ESMTP Stafette
c: EHLO client.example
s: 250 *`;

describe('abuse - session hygiene', () => {
  let f: IntakeFixture;
  let original: IntakeConfig;
  // Called when a login succeeds, before the 235 is sent: the test changes the bundle there.
  let onLogin: (() => void) | null = null;

  before(async () => {
    original = strictExampleBundle();
    f = await startIntakeFixture({
      name: 'nats-abuse-session',
      config: original,
      intake: {
        observer: {
          ...ignoreIntakeEvents,
          authAttempt: (_listener, outcome) => {
            if (outcome === 'success') onLogin?.();
          },
        },
      },
      listeners: {
        mx: { session: { ...defaultSessionLimits, minDataRate: 200, dataRateWindowMs: 1000, maxFailedRecipients: 3, maxErrors: 5 } },
        submissions: { session: { ...defaultSessionLimits, deadlineMs: 1500 } },
      },
    });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('a client trickling its DATA below the minimum rate is cut off with 421 4.4.2', async () => {
    // The reply text tells the rate check from the idle timeout; how soon is not asserted.
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c! Subject: slow
s: 421 4.4.2 Data arriving too slowly, closing connection
closed`,
    );
  });

  test('a session past its deadline gets 421 4.4.2 however busy it keeps the idle timer', async () => {
    await playTranscript(
      { ...f.submissions, implicitTls: true },
      `
s: 220 *
c: EHLO laptop.example
s: 250 *
c: NOOP
s: 250 *
s: 421 4.4.2 Session time limit reached, closing connection
closed`,
    );
  });

  test('refused RCPTs are bounded: the one after the third gets 421 4.7.0 and the connection is closed (harvesting)', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<a1@example.com>
s: 550 5.1.1 *
c: RCPT TO:<a2@example.com>
s: 550 5.1.1 *
c: RCPT TO:<a3@example.com>
s: 550 5.1.1 *
c: RCPT TO:<a4@example.com>
s: 421 4.7.0 Too many refused recipients, closing connection
closed`,
    );
  });

  test('error replies are bounded per session: the sixth is 421 4.7.0 and the connection is closed', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: RCPT TO:<bob@example.com>
s: 503 *
c: DATA
s: 503 *
c: MAIL FROM:<bad address>
s: 501 *
c: FROB bob
s: 500 *
c: RCPT TO:<bob@example.com>
s: 503 *
c: DATA
s: 421 4.7.0 Too many errors, closing connection
closed`,
    );
  });

  test('a repeated RCPT counts against the recipient limit (3): the fourth RCPT of one address gets 452 4.5.3', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 *
c: RCPT TO:<bob@example.com>
s: 250 *
c: RCPT TO:<BOB@example.com>
s: 250 *
c: RCPT TO:<bob@example.com>
s: 452 4.5.3 *
c: QUIT
s: 221 *`,
    );
  });

  test('<postmaster> and "bob"@example.com are accepted and stored as postmaster@example.com and bob@example.com; x@2130706433 is refused', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<x@2130706433>
s: 501 5.1.3 *
c: RCPT TO:<Postmaster>
s: 250 2.1.5 Accepted
c: RCPT TO:<"bob"@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: to the postmaster
c:
c: hello
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.deepEqual(
      stored.record.envelope.rcptTo.map((r) => r.address),
      ['postmaster@example.com', 'bob@example.com'],
    );
  });

  test('a body line starting with a single dot loses it; a doubled dot keeps one (RFC 5321 §4.5.2)', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: dots
c:
c: .single
c: ..double
c! .split\\r\\n.
c! \\r\\n
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.ok(stored.body.toString('latin1').endsWith('Subject: dots\r\n\r\nsingle\r\n.double\r\nsplit\r\n'), stored.body.toString('latin1'));
  });

  test('the login is re-checked at each MAIL: after a password change the session may not start another transaction (530)', async () => {
    const dialog = (mailReply: string) => `
s: 220 *
c: EHLO laptop.example
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s: 250 *
c: AUTH PLAIN ${plain('bob@example.com', 'change-me-bob')}
s: 235 *
c: MAIL FROM:<bob@example.com>
s: ${mailReply}
c: QUIT
s: 221 *`;
    await playTranscript(f.submission, dialog('250 2.1.0 Accepted'));
    // bob's password is changed (to alice's hash) between AUTH and MAIL.
    const changed: IntakeConfig = {
      bundle: original.bundle,
      secrets: { ...original.secrets, passwords: { ...original.secrets.passwords, 'bob@example.com': original.secrets.passwords['alice@example.com']! } },
    };
    onLogin = () => (f.config = changed);
    try {
      await playTranscript(f.submission, dialog('530 5.7.0 Authentication no longer valid, please log in again'));
    } finally {
      onLogin = null;
      f.config = original;
    }
  });

  test('TLS 1.1 is refused: the handshake fails with a protocol-version alert', async () => {
    const err = await new Promise<Error | null>((resolve) => {
      const socket = tlsConnect({
        host: f.submissions.host,
        port: f.submissions.port,
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(null);
      });
      socket.once('error', (e: Error) => resolve(e));
    });
    assert.ok(err, 'a TLS 1.1 handshake succeeded');
    assert.match(String(err), /protocol version|unsupported protocol|no protocols available/i);
  });

  test('a client-initiated TLS renegotiation is refused (TLS 1.2; TLS 1.3 has none)', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: f.submissions.host, port: f.submissions.port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
      const done = (result: string) => {
        socket.destroy();
        resolve(result);
      };
      socket.once('error', (e: Error) => done(`refused: ${e.message}`));
      socket.once('secureConnect', () => {
        assert.equal(socket.getProtocol(), 'TLSv1.2');
        const asked = socket.renegotiate({ rejectUnauthorized: false }, (err) => done(err ? `refused: ${err.message}` : 'renegotiated'));
        if (!asked) done('refused: not attempted');
      });
      setTimeout(() => done('no answer'), 10_000).unref();
    });
    assert.match(outcome, /^refused: /, outcome);
  });
});
