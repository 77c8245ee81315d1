// Real SMTP clients against the intake and a real nats-server: swaks and nodemailer submit
// with AUTH over STARTTLS, Python's smtplib delivers to MX, and each message is found in the
// stream byte-identical to what was sent, after our added header fields. A 30 MB message goes
// through the Object Store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { stopAll } from '../harness/process.ts';
import { exampleUsers, queueIdOf, renderExampleBundle, splitAddedHeaders, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';

const run = promisify(execFile);

const message = (subject: string, from = 'Alice <alice@example.com>') =>
  Buffer.from(
    `From: ${from}\r\nTo: Friend <friend@elsewhere.example>\r\n` +
      `Subject: ${subject}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject}@laptop.example>\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
      'Grüße aus dem Test.\r\n.leading dot\r\n\r\nBye.\r\n',
  );

describe('intake - real clients', () => {
  let f: IntakeFixture;
  let dir: string;

  before(async () => {
    const { bundle, secrets } = renderExampleBundle();
    // Room for the 30 MB message.
    const config = {
      secrets,
      bundle: { ...bundle, domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, maxMessageSize: 40 * 1024 * 1024 } })) },
    };
    f = await startIntakeFixture({ name: 'nats-real-clients', config });
    dir = mkdtempSync(join(tmpdir(), 'stafette-clients-'));
  });
  after(async () => {
    await f?.close();
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('swaks submits with AUTH PLAIN over STARTTLS; the stream holds the message plus one Received header', async () => {
    const sent = message('swaks');
    const file = join(dir, 'swaks.eml');
    writeFileSync(file, sent);
    const { stdout } = await run(
      'swaks',
      [
        '--server',
        `${f.submission.host}:${f.submission.port}`,
        '--ehlo',
        'laptop.example',
        '--tls',
        '--auth',
        'PLAIN',
        '--auth-user',
        exampleUsers.alice.user,
        '--auth-password',
        exampleUsers.alice.pass,
        '--from',
        'alice@example.com',
        '--to',
        'friend@elsewhere.example',
        '--data',
        `@${file}`,
        '--timeout',
        '30',
      ],
      { timeout: 60_000 },
    );
    const stored = await f.stored(queueIdOf(stdout));
    assert.equal(stored.record.client.authUser, 'alice@example.com');
    const { headers, rest } = splitAddedHeaders(stored.body, 1);
    assert.match(headers[0]!, /^Received: from laptop\.example .* with ESMTPSA .* for <friend@elsewhere\.example>;/s);
    // swaks always writes CRLF before the final ".", so that CRLF is part of what it sent.
    assert.deepEqual(rest, Buffer.concat([sent, Buffer.from('\r\n')]));
  });

  test('nodemailer submits with AUTH LOGIN over STARTTLS (requireTLS); byte-identical plus Received', async () => {
    // bob's own From: a login may not put alice's address there (docs/trust-model.md §2.1).
    const sent = message('nodemailer', 'Bob <bob@example.com>');
    const transport = nodemailer.createTransport({
      host: f.submission.host,
      port: f.submission.port,
      secure: false,
      requireTLS: true,
      name: 'laptop.example',
      auth: { user: exampleUsers.bob.user, pass: exampleUsers.bob.pass, method: 'LOGIN' },
      tls: { rejectUnauthorized: false },
    });
    try {
      const info = await transport.sendMail({ envelope: { from: 'bob@example.com', to: ['team@example.com'] }, raw: sent });
      const stored = await f.stored(queueIdOf(info.response));
      assert.equal(stored.record.client.authUser, 'bob@example.com');
      const { rest } = splitAddedHeaders(stored.body, 1);
      assert.deepEqual(rest, sent);
    } finally {
      transport.close();
    }
  });

  test('Python smtplib delivers to MX without TLS; byte-identical plus Received, envelope as sent', async () => {
    const sent = message('smtplib');
    const file = join(dir, 'smtplib.eml');
    writeFileSync(file, sent);
    const script = [
      'import smtplib, sys',
      `s = smtplib.SMTP("${f.mx.host}", ${f.mx.port}, local_hostname="relay.example.org", timeout=30)`,
      's.ehlo()',
      'code, _ = s.mail("sender@example.org", ["BODY=8BITMIME"]); assert code == 250, code',
      'code, _ = s.rcpt("A.Smith@Example.com"); assert code == 250, code',
      'code, resp = s.data(open(sys.argv[1], "rb").read()); assert code == 250, code',
      'print(resp.decode())',
      's.quit()',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script, file], { timeout: 60_000 });
    const stored = await f.stored(queueIdOf(stdout));
    assert.equal(stored.record.listener, 'mx');
    assert.deepEqual(stored.record.envelope.mailFrom, { address: 'sender@example.org', params: [{ name: 'BODY', value: '8BITMIME' }] });
    assert.deepEqual(
      stored.record.envelope.rcptTo.map((r) => r.address),
      ['A.Smith@Example.com'],
      'stored as received',
    );
    const { headers, rest } = splitAddedHeaders(stored.body, 1);
    assert.match(headers[0]!, /^Received: from relay\.example\.org \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.com \(Stafette\) with ESMTP\r\n/);
    assert.deepEqual(rest, sent);
  });

  test('a 30 MB message goes through the Object Store and comes back identical', { timeout: 180_000 }, async () => {
    const head = Buffer.from('From: <sender@example.org>\r\nTo: <bob@example.com>\r\nSubject: big\r\n\r\n');
    // 76-character base64 lines, as a large attachment would be.
    const lines = randomBytes(22 * 1024 * 1024)
      .toString('base64')
      .match(/.{1,76}/g)!;
    const sent = Buffer.concat([head, Buffer.from(`${lines.join('\r\n')}\r\n`)]);
    assert.ok(sent.length > 30_000_000);
    const transport = nodemailer.createTransport({ host: f.mx.host, port: f.mx.port, secure: false, ignoreTLS: true, name: 'big.example.org' });
    try {
      const info = await transport.sendMail({ envelope: { from: 'sender@example.org', to: ['bob@example.com'] }, raw: sent });
      const stored = await f.stored(queueIdOf(info.response));
      assert.equal(stored.record.body.kind, 'object');
      const { rest } = splitAddedHeaders(stored.body, 1);
      assert.equal(rest.length, sent.length);
      assert.equal(createHash('sha256').update(rest).digest('hex'), createHash('sha256').update(sent).digest('hex'));
    } finally {
      transport.close();
    }
  });
});
