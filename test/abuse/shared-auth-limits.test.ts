// Limits every pod shares (issue 14 item 3, docs/reliability.md §1), black-box: TWO real
// `stafette mta` processes on one real nats-server (the JetStream KV bucket stafette-limits),
// the submission listener of each, and plain sockets as clients. Wrong passwords spread over
// several connections to both processes hit ONE limit: after 4 failures from 127.0.0.1 (in
// total, whichever pod saw them) AUTH gets 454 4.7.0 without a password check, even with the
// right password; after 8 attempts the client is refused at connect with 421 4.7.0 by both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword } from '../../bundle/password-hash.ts';
import { bundleFiles, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, startProcess, stopAll, waitFor, type ManagedProcess } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { testBundle, testDomain } from '../transports/transport-fixtures.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
const user = 'alice@example.test';
const pass = 'alice-secret';

interface Mta {
  readonly process: ManagedProcess;
  readonly submission: { host: string; port: number };
}

async function startMta(name: string, nats: NatsServer, dir: string, perIp = 4): Promise<Mta> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const child = startProcess(
    name,
    process.execPath,
    [
      join(repoRoot, 'cli/stafette.ts'),
      'mta',
      ...['--config-dir', join(dir, 'config'), '--secret-dir', join(dir, 'secret'), '--nats', nats.url, '--instance', name],
      ...['--listeners', 'submission', '--smtp-host', '127.0.0.1', '--submission-port', String(port), '--hostname', 'mx.example.test'],
      ...['--ops-host', '127.0.0.1', '--ops-port', String(opsPort), '--no-delivery', '--no-inbound-checks', '--no-mta-sts-server'],
      ...['--auth-failures-per-ip', String(perIp), '--auth-failures-per-account', '100', '--auth-failure-window', '600'],
    ],
    { logDir: dir },
  );
  await waitFor(
    `${name} to be ready`,
    async () => {
      if (child.child.exitCode !== null) throw new Error(`${name} exited; see ${child.logFile}`);
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000 },
  );
  return { process: child, submission: { host: '127.0.0.1', port } };
}

const login = (password: string, reply: string, name = user) => `
s: 220 *
c: EHLO laptop.example
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s: 250 *
c: AUTH PLAIN ${plain(name, password)}
s: ${reply}
c: QUIT
s: 221 *`;

describe('abuse - AUTH failures shared by two MTA processes', () => {
  let nats: NatsServer;
  let a: Mta;
  let b: Mta;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stafette-abuse-shared-'));
    nats = await startNatsServer({ name: 'nats-abuse-shared' });
    const parts = testBundle({
      domains: [testDomain('example.test')],
      mailboxes: [{ address: user, source: { namespace: 'mail', name: 'alice' }, login: true, sendAs: [], delivery: { type: 'local' } }],
    });
    const files = bundleFiles({ bundle: parts.bundle, secrets: { ...parts.secrets, passwords: { [user]: hashPassword(pass) } } });
    writeMountedFiles(join(dir, 'config'), files.config);
    writeMountedFiles(join(dir, 'secret'), files.secrets);
    [a, b] = await Promise.all([startMta('mta-shared-a', nats, dir), startMta('mta-shared-b', nats, dir)]);
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
  let mta: Mta;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stafette-abuse-login-'));
    nats = await startNatsServer({ name: 'nats-abuse-login' });
    const parts = testBundle({
      domains: [testDomain('example.test')],
      mailboxes: [{ address: user, source: { namespace: 'mail', name: 'alice' }, login: true, sendAs: [], delivery: { type: 'local' } }],
    });
    const files = bundleFiles({ bundle: parts.bundle, secrets: { ...parts.secrets, passwords: { [user]: hashPassword(pass) } } });
    writeMountedFiles(join(dir, 'config'), files.config);
    writeMountedFiles(join(dir, 'secret'), files.secrets);
    mta = await startMta('mta-login', nats, dir, 20);
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
      `
s: 220 *
c: EHLO laptop.example
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s: 250 *
c: AUTH PLAIN ${plain(user, pass)}
s: 235 *
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
s: 250 *
c: QUIT
s: 221 *`,
    );
    assert.doesNotMatch(readFileSync(mta.process.logFile, 'utf8'), /maximum control line|disconnect/i);
  });
});
