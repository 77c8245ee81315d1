// The MX listener's policy and limits as SMTP transcripts against the real intake and a real
// nats-server. The bundle is the rendered example with example.com's catch-all removed and
// small limits (20 kB, 3 recipients), so every rule can be hit with small messages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, renderExampleBundle, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import type { IntakeConfig } from '../../mta/src/smtp/index.ts';
import type { IntakeObserver } from '../../mta/src/smtp/intake-observer.ts';

// Counts what the intake reports for metrics, by event and label.
function countingObserver(counts: Map<string, number>): IntakeObserver {
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    sessionOpened: (l) => add(`opened ${l}`),
    sessionClosed: (l) => add(`closed ${l}`),
    command: (l, verb) => add(`command ${l} ${verb}`),
    messageAccepted: (l) => add(`accepted ${l}`),
    rejected: (l, reason) => add(`rejected ${l} ${reason}`),
    authAttempt: (l, outcome) => add(`auth ${l} ${outcome}`),
    passwordChecked: (l, against) => add(`password ${l} ${against}`),
  };
}

function strictExampleBundle(): IntakeConfig {
  const { bundle, secrets } = renderExampleBundle();
  return {
    secrets,
    bundle: {
      ...bundle,
      domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, catchAll: null, maxMessageSize: 20_000, maxRecipients: 3 } })),
    },
  };
}

const hello = `
s: 220 mx.example.com ESMTP Stafette
c: EHLO client.example
s: 250 SIZE 20000`;

describe('intake - MX dialogs', () => {
  let f: IntakeFixture;
  const counts = new Map<string, number>();

  before(async () => {
    f = await startIntakeFixture({ name: 'nats-mx-dialogs', config: strictExampleBundle(), intake: { observer: countingObserver(counts) } });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('EHLO offers PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS and SIZE, and no AUTH on MX', async () => {
    await playTranscript(
      f.mx,
      `
s: 220 mx.example.com ESMTP Stafette
c: EHLO client.example
s- 250-PIPELINING
s- 250-8BITMIME
s- 250-SMTPUTF8
s- 250-ENHANCEDSTATUSCODES
s- 250-STARTTLS
s! 250-AUTH*
s: 250 SIZE 20000
c: AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGNoYW5nZS1tZS1hbGljZQ==
s: 500 5.5.2 *
c: QUIT
s: 221 *`,
    );
  });

  test('junk: an HTTP request gets 421 and the connection is closed (B31)', async () => {
    await playTranscript(
      f.mx,
      `
s: 220 *
c: GET / HTTP/1.1
s: 421 *
closed`,
    );
  });

  test('unknown recipient: 550 5.1.1 at RCPT; mailboxes, aliases, +tag subaddresses and case variants are accepted', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<nobody@example.com>
s: 550 5.1.1 Recipient address rejected: no such user here
c: RCPT TO:<BOB@Example.COM>
s: 250 2.1.5 Accepted
c: RCPT TO:<team@example.com>
s: 250 2.1.5 Accepted
c: RCPT TO:<alice+news@example.com>
s: 250 2.1.5 Accepted
c: QUIT
s: 221 *`,
    );
  });

  test('relay attempt without AUTH: 550 5.7.1 for other domains; routing tricks name a local address that does not exist', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<victim@elsewhere.example>
s: 550 5.7.1 Relaying denied
c: RCPT TO:<victim@example.com.elsewhere.example>
s: 550 5.7.1 Relaying denied
c: RCPT TO:<victim%elsewhere.example@example.com>
s: 550 5.1.1 *
c: RCPT TO:<elsewhere.example!victim@example.com>
s: 550 5.1.1 *
c: RCPT TO:<@example.com:victim@elsewhere.example>
s: 5* *
c: DATA
s: 503 *
c: QUIT
s: 221 *`,
    );
  });

  test('parameters: unannounced ones get 555 5.5.4; NUL, zero-width characters and encoded CRLF get 501 (B25); DSN ones are checked', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org> X-FOO=1
s: 555 5.5.4 MAIL parameter X-FOO not supported
c: MAIL FROM:<sender@example.org> ENVID=x+0D+0ABcc:victim@elsewhere.example
s: 5* *
c! MAIL FROM:<send\\0er@example.org>\\r\\n
s: 501 5.1.7 *
c: MAIL FROM:<send\u200ber@example.org>
s: 501 5.1.7 *
c: MAIL FROM:<sender@example.org> SIZE=100 BODY=8BITMIME
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com> NOTIFY=NEVER,SUCCESS
s: 501 5.5.4 *
c: RCPT TO:<bob@example.com> ORCPT=bob@example.com
s: 501 5.5.4 *
c: RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob@Example.com
s: 250 2.1.5 Accepted
c: RSET
s: 250 *
c: MAIL FROM:<sender@example.org> RET=BODY
s: 501 *
c: MAIL FROM:<sender@example.org> REQUIRETLS
s: 530 *
c: MAIL FROM:<sender@example.org> RET=HDRS ENVID=QQ314159
s: 250 2.1.0 Accepted
c: QUIT
s: 221 *`,
    );
  });

  test('DSN is offered, REQUIRETLS only over TLS (RFC 3461, RFC 8689 §4.1)', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: QUIT
s: 221 *`,
    );
    assert.match(log.join('\n'), /250[- ]DSN/);
    assert.doesNotMatch(log.join('\n'), /REQUIRETLS/);
  });

  test('too many recipients: the 4th RCPT gets 452 4.5.3 and the message goes to the first three', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<alice@example.com>
s: 250 2.1.5 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: RCPT TO:<team@example.com>
s: 250 2.1.5 Accepted
c: RCPT TO:<postmaster@example.com>
s: 452 4.5.3 Too many recipients, at most 3 per message
c: DATA
s: 354 *
c: Subject: three
c:
c: x
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.deepEqual(
      stored.record.envelope.rcptTo.map((r) => r.address),
      ['alice@example.com', 'bob@example.com', 'team@example.com'],
    );
  });

  test('oversize with SIZE: 552 5.3.4 at MAIL', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org> SIZE=20001
s: 552 5.3.4 *
c: MAIL FROM:<sender@example.org> SIZE=19999
s: 250 2.1.0 Accepted
c: QUIT
s: 221 *`,
    );
  });

  test('oversize without SIZE: 552 5.3.4 after the dot, stray end markers do not end DATA, and the session stays in sync', async () => {
    const big = 'x'.repeat(900);
    const lines = Array.from({ length: 30 }, () => `c: ${big}`).join('\n');
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: big
c:
${lines}
c! .\\nMAIL FROM:<smuggled@evil.example>\\r\\nRCPT TO:<bob@example.com>\\r\\n
c: .
s: 552 5.3.4 *
c: RSET
s: 250 *
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: QUIT
s: 221 *`,
    );
  });

  test('a line over 2048 octets: 554 5.6.0 (a content code, not command syntax)', async () => {
    await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: long line
c:
c: ${'y'.repeat(2049)}
c: .
s: 554 5.6.0 Message has a line longer than 2048 octets
c: QUIT
s: 221 *`,
    );
  });

  test('a header section over the limit: 552 5.3.4', async () => {
    // The header limit (100 kB) is above this bundle's 20 kB size limit: raise the size limit for this session.
    const { bundle, secrets } = strictExampleBundle();
    const previous = f.config;
    f.config = { secrets, bundle: { ...bundle, domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, maxMessageSize: 1_000_000 } })) } };
    try {
      const headers = Array.from({ length: 120 }, (_, i) => `c: X-Filler-${i}: ${'h'.repeat(900)}`).join('\n');
      await playTranscript(
        f.mx,
        `
s: 220 *
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
${headers}
c:
c: body
c: .
s: 552 5.3.4 Message header exceeds the limit of 102400 bytes
c: QUIT
s: 221 *`,
      );
    } finally {
      f.config = previous;
    }
  });

  test('mail loop: 51 Received headers get 554 5.4.6, 50 are accepted', async () => {
    const received = (n: number) =>
      Array.from({ length: n }, (_, i) => `c: Received: from hop${i}.example by hop${i + 1}.example; Sun, 22 Nov 2026 10:00:00 +0000`).join('\n');
    const transaction = (n: number, reply: string) => `
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
${received(n)}
c: Subject: loop
c:
c: x
c: .
s: ${reply}`;
    await playTranscript(
      f.mx,
      `${hello}${transaction(51, '554 5.4.6 Too many hops, mail loop detected')}${transaction(50, '250 2.6.0 *')}
c: QUIT
s: 221 *`,
    );
  });

  test('smuggling: bare LF and CR end markers stay inside one message, stored with CRLF line ends only (B17)', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: smuggle
c:
c! a\\n.\\nMAIL FROM:<a@evil.example>\\r\\nb\\r.\\r\\nRCPT TO:<c@evil.example>\\r\\nc\\r\\n.\\nDATA\\r\\nd\\r.\\re\\r\\n
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    const text = stored.body.toString('latin1');
    assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/, 'no bare CR or LF is stored');
    assert.ok(
      text.endsWith('Subject: smuggle\r\n\r\na\r\n.\r\nMAIL FROM:<a@evil.example>\r\nb .\r\nRCPT TO:<c@evil.example>\r\nc\r\n.\r\nDATA\r\nd . e\r\n'),
      text,
    );
  });

  test('SMTPUTF8: a UTF-8 sender and an 8-bit body are stored exactly as received, and Received says UTF8SMTP', async () => {
    const { log } = await playTranscript(
      f.mx,
      `${hello}
c: MAIL FROM:<jösé@bücher.example> SMTPUTF8 BODY=8BITMIME
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: grüße
c:
c: ½ ünïcödé
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.deepEqual(stored.record.envelope.mailFrom, {
      address: 'jösé@bücher.example',
      params: [
        { name: 'SMTPUTF8', value: null },
        { name: 'BODY', value: '8BITMIME' },
      ],
    });
    const text = stored.body.toString('utf8');
    assert.match(text, /^Received: from client\.example .*\r\n\tby mx\.example\.com \(Stafette\) with UTF8SMTP\r\n/);
    assert.ok(text.endsWith('Subject: grüße\r\n\r\n½ ünïcödé\r\n'));
  });

  test('a reloaded bundle applies to new sessions: a removed alias is refused afterwards', async () => {
    const previous = f.config;
    f.config = { ...previous, bundle: { ...previous.bundle, aliases: previous.bundle.aliases.filter((a) => a.address !== 'team@example.com') } };
    try {
      await playTranscript(
        f.mx,
        `${hello}
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<team@example.com>
s: 550 5.1.1 *
c: QUIT
s: 221 *`,
      );
    } finally {
      f.config = previous;
    }
  });

  test('every refusal above was reported to the metrics seam under its rule name', () => {
    for (const rule of [
      'unknown_recipient',
      'relay_denied',
      'too_many_recipients',
      'message_too_big',
      'line_too_long',
      'header_too_big',
      'mail_loop',
      'unknown_parameter',
      'smtp_501',
      'smtp_552',
      'smtp_503',
    ]) {
      assert.ok((counts.get(`rejected mx ${rule}`) ?? 0) > 0, `rejected mx ${rule}: ${JSON.stringify([...counts])}`);
    }
    assert.ok((counts.get('accepted mx') ?? 0) >= 3);
    assert.ok((counts.get('opened mx') ?? 0) >= (counts.get('closed mx') ?? 0));
  });
});
