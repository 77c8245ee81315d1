// How the listeners treat connections: the greeting pause per listener, reverse DNS per
// listener, the per-IP connection limit, clients that reset the connection (F11), STARTTLS
// plaintext injection (F3), and certificates chosen by SNI from the bundle, following reloads.
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopAll, waitFor } from '../harness/process.ts';
import { queueIdOf, splitAddedHeaders, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript, SmtpWire } from '../harness/smtp-transcript.ts';
import { generateSelfSignedCertificate } from '../../mta/src/smtp/index.ts';

describe('intake - connections', () => {
  let f: IntakeFixture;
  const reverseLookups: string[] = [];

  before(async () => {
    f = await startIntakeFixture({
      name: 'nats-intake-connections',
      listeners: { mx: { reverseDns: true }, submission: { maxConnectionsPerIp: 2 } },
      intake: {
        // Reverse DNS is injected I/O; this one answers for loopback like a PTR record would.
        resolver: {
          reverse: async (ip) => {
            reverseLookups.push(ip);
            return ['client.rdns.example'];
          },
        },
      },
    });
  });
  after(async () => {
    mock.timers.reset();
    await f?.close();
    await stopAll();
  });

  test('submission greets at once: the 220 arrives while no timer can fire', { timeout: 20_000 }, async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const wire = await SmtpWire.open(f.submission, 10_000);
      try {
        const greeting = await wire.readReply();
        assert.deepEqual(greeting, ['220 mx.example.com ESMTP Stafette']);
      } finally {
        wire.destroy();
      }
    } finally {
      mock.timers.reset();
    }
  });

  test('MX keeps the greeting pause: a client that talks before the 220 gets 421 "You talk too soon"', { timeout: 20_000 }, async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      await playTranscript(
        f.mx,
        `
c: EHLO early.example
s: 421 mx.example.com You talk too soon`,
      );
    } finally {
      mock.timers.reset();
    }
  });

  test('reverse DNS is looked up on MX (shown in Received) and not on submission', async () => {
    reverseLookups.length = 0;
    const { log } = await playTranscript(
      f.mx,
      `
s: 220 *
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@example.org>
s: 250 *
c: RCPT TO:<bob@example.com>
s: 250 *
c: DATA
s: 354 *
c: Subject: rdns
c:
c: x
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`,
    );
    const { headers } = splitAddedHeaders((await f.stored(queueIdOf(log.join('\n')))).body, 1);
    assert.match(headers[0]!, /^Received: from client\.example \(client\.rdns\.example \[127\.0\.0\.1\]\)/);
    assert.deepEqual(reverseLookups, ['127.0.0.1']);
    await playTranscript(f.submission, 's: 220 *\nc: QUIT\ns: 221 *');
    assert.deepEqual(reverseLookups, ['127.0.0.1'], 'no lookup for submission');
  });

  test('connections per client IP: the third concurrent connection gets 421 4.7.0 and is closed', async () => {
    const first = await SmtpWire.open(f.submission, 10_000);
    const second = await SmtpWire.open(f.submission, 10_000);
    try {
      await first.readReply();
      await second.readReply();
      await playTranscript(
        f.submission,
        `
s: 421 4.7.0 Too many connections from your address, try again later
closed`,
      );
    } finally {
      first.destroy();
      second.destroy();
    }
    // Once they are gone, the address may connect again.
    await waitFor(
      'a free connection slot',
      async () => {
        const { log } = await playTranscript(f.submission, 's: 2* *\nc: QUIT\ns: 221 *').catch(() => ({ log: [] as string[] }));
        return log.length > 0;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  test('no usable configuration for a new session: 421 4.3.0, and the server keeps serving once it is back', async () => {
    const previous = f.config;
    f.config = undefined as unknown as typeof previous;
    try {
      await playTranscript(f.submission, 's: 421 4.3.0 Service not available, try again later\nclosed');
    } finally {
      f.config = previous;
    }
    await playTranscript(f.submission, 's: 220 *\nc: QUIT\ns: 221 *');
  });

  test('clients that reset the connection mid-dialog do not stop the server (F11)', async () => {
    // In a transaction (after MAIL), smtp-server passes a socket error on as 'error' on the
    // SMTPServer; with no listener there, Node would end the process.
    for (let i = 0; i < 10; i++) {
      const wire = await SmtpWire.open(f.mx, 10_000);
      await wire.readReply();
      wire.send(`EHLO reset${i}.example\r\n`);
      await wire.readReply();
      wire.send(`MAIL FROM:<a@example.org>\r\n`);
      await wire.readReply();
      wire.send(`RCPT TO:<bob@example.com>\r\n`);
      await wire.readReply();
      if (i % 2 === 0) {
        wire.send('DATA\r\n');
        await wire.readReply();
        wire.send(`Subject: cut\r\n\r\n${'X'.repeat(8 * 1024)}\r\n`);
      }
      wire.reset();
    }
    await sleep(200);
    await playTranscript(f.mx, 's: 220 *\nc: EHLO after.example\ns: 250 *\nc: QUIT\ns: 221 *');
  });

  test('STARTTLS injection: commands and a partial line pipelined behind STARTTLS are discarded (F3, B20)', async () => {
    await playTranscript(
      f.mx,
      `
s: 220 *
c: EHLO client.example
s: 250 *
c! STARTTLS\\r\\nMAIL FROM:<inj@evil.example>\\r\\nRCPT TO:<bob@example.com>\\r\\n
s: 220 *
tls
c: EHLO client.example
s: 250 *
c: RCPT TO:<bob@example.com>
s: 503 5.5.1 *
c: QUIT
s: 221 *`,
    );
    await playTranscript(
      f.mx,
      `
s: 220 *
c: EHLO client.example
s: 250 *
c! STARTTLS\\r\\nMAIL FROM:<inj@evil.example> X-PAD=
s: 220 *
tls
c: EHLO client.example
s: 250 *
c: RCPT TO:<bob@example.com>
s: 503 5.5.1 *
c: QUIT
s: 221 *`,
    );
  });

  test('STARTTLS injection: a partial line sent after the 220, before the handshake, ends the connection (F3)', async () => {
    const wire = await SmtpWire.open(f.mx, 10_000);
    try {
      await wire.readReply();
      wire.send('EHLO client.example\r\n');
      await wire.readReply();
      wire.send('STARTTLS\r\n');
      assert.match((await wire.readReply()).at(-1)!, /^220 /);
      wire.send('MAIL FROM:<inj@evil.example> X-PAD=', 'latin1');
      await assert.rejects(wire.startTls(), 'the handshake fails instead of taking the plaintext in');
    } finally {
      wire.destroy();
    }
  });

  test('certificates: the default until the bundle has one, then by SNI from the bundle (the platform certificate without SNI or for other names), and a reload takes effect for new sessions', async () => {
    const first = await generateSelfSignedCertificate(['mx.example.com']);
    const second = await generateSelfSignedCertificate(['mx.example.com']);
    const previous = f.config;
    const withCertificate = (material: typeof first) => ({
      bundle: { ...previous.bundle, domains: previous.bundle.domains.map((d) => ({ ...d, tls: { secretName: 'default/mx-example-com-tls' } })) },
      secrets: { ...previous.secrets, tlsCertificates: { 'default/mx-example-com-tls': material } },
    });
    const served = async (target: typeof f.mx & { implicitTls?: boolean }, servername?: string) => {
      const script = target.implicitTls
        ? 's: 220 *\nc: QUIT\ns: 221 *'
        : 's: 220 *\nc: EHLO c.example\ns: 250 *\nc: STARTTLS\ns: 220 *\ntls\nc: QUIT\ns: 221 *';
      const { peerCertificate } = await playTranscript({ ...target, servername }, script);
      return peerCertificate?.fingerprint256;
    };
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    try {
      assert.equal(await served(f.mx, 'mx.example.com'), fingerprint(f.defaultTls.certPem), 'no certificate in the bundle: the default');
      f.config = withCertificate(first);
      assert.equal(await served(f.mx, 'mx.example.com'), fingerprint(first.certPem), 'SNI on STARTTLS');
      assert.equal(await served({ ...f.submissions, implicitTls: true }, 'mx.example.com'), fingerprint(first.certPem), 'SNI on implicit TLS');
      // The platform's certificate (here the configured default), never a tenant's (docs/trust-model.md §6).
      assert.equal(await served(f.mx), fingerprint(f.defaultTls.certPem), "no SNI: the platform's certificate");
      assert.equal(await served(f.mx, 'other.example'), fingerprint(f.defaultTls.certPem), 'unknown name: as without SNI');
      f.config = withCertificate(second);
      assert.equal(await served(f.mx, 'mx.example.com'), fingerprint(second.certPem), 'after a reload, the new certificate');
    } finally {
      f.config = previous;
    }
  });
});
