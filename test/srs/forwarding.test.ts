// Forwarding that survives the next hop's checks, end to end through a real `stafette mta`:
// mail from sender.test (SPF pass at our MX) to fwd@example.test, whose mailbox forwards to
// carol@far.test. The copy reaches far.test's MX with an SRS envelope sender of example.test,
// for which the SPF check the next hop runs (pyspf) passes from our address, and with an ARC
// set of ours that an independent verifier (dkimpy via authheaders) validates. A bounce from
// far.test to that SRS address reaches the original sender; a forged SRS address is refused.
// Mail our users send is DKIM-signed into local mailboxes and in forwards alike.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { independentVerdicts } from '../harness/independent-verifier.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { alice, startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

describe('SRS and ARC for forwarded mail', () => {
  let m: StandardsMta;
  before(async () => {
    m = await startStandardsMta('srs');
  });
  after(async () => {
    await m.close();
    await stopAll();
  });

  const viaMx = (from: string, to: string, message: string, source = '127.0.0.10') =>
    sendMessage({ host: m.mx.host, port: m.mx.port, localAddress: source, helo: 'client.sender.test', from, to: [to], message: Buffer.from(message) });

  test('the forwarded copy carries an SRS sender that passes SPF at the next hop, and an ARC set that verifies', async () => {
    const reply = await viaMx(
      'alice@sender.test',
      'fwd@example.test',
      'From: alice@sender.test\r\nTo: fwd@example.test\r\nSubject: please forward\r\nMessage-ID: <fwd1@sender.test>\r\n\r\nhello carol\r\n',
    );
    assert.match(reply, /^250 /);
    const copy = await waitFor('the forwarded copy at far.test', () => m.far.messages.find((x) => x.to.includes('carol@far.test')), { timeoutMs: 30_000 });
    assert.match(copy.from, /^SRS0=[^=]{4}=[A-Z2-7]{2}=sender\.test=alice@example\.test$/);
    const spf = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'pyspf-check.py'), m.dns.address, copy.clientIp, copy.from, 'mx.example.test'], {
      encoding: 'utf8',
    }).trim();
    assert.equal(spf, 'pass', `SPF at the next hop for ${copy.from} from ${copy.clientIp}`);
    // Without SRS the original sender's SPF would fail there: our address is not sender.test's.
    const withoutSrs = execFileSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, 'pyspf-check.py'), m.dns.address, copy.clientIp, 'alice@sender.test', 'mx.example.test'],
      { encoding: 'utf8' },
    ).trim();
    assert.equal(withoutSrs, 'fail');
    assert.match(copy.data.toString(), /^ARC-Seal: i=1; [^]*d=example\.test/);
    const theirs = await independentVerdicts(copy.data, { dns: m.dns.address, ip: copy.clientIp, helo: 'mx.example.test', mailFrom: copy.from });
    assert.equal(theirs.arc, 'pass');
  });

  test('a bounce to the SRS address reaches the original sender; a forged one is refused', async () => {
    const copy = m.far.messages.find((x) => x.to.includes('carol@far.test'))!;
    const bounce = `From: MAILER-DAEMON@mx.far.test\r\nTo: ${copy.from}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@far.test>\r\n\r\ncarol is on holiday for good\r\n`;
    assert.match(await viaMx('', copy.from, bounce, '127.0.0.51'), /^250 /);
    const back = await waitFor('the bounce at sender.test', () => m.sender.messages.find((x) => x.to.includes('alice@sender.test')), { timeoutMs: 30_000 });
    assert.equal(back.from, '');
    assert.match(back.data.toString(), /carol is on holiday for good/);

    const forged = copy.from.replace(/^SRS0=[^=]{4}=/, 'SRS0=AAAA=').replace('=alice@', '=victim@');
    assert.match(await viaMx('', forged, bounce, '127.0.0.51'), /^550 5\.1\.1 /);
    assert.match(await viaMx('spammer@far.test', copy.from, bounce, '127.0.0.51'), /^550 5\.7\.1 /);
  });

  test('mail our users send is DKIM-signed into a local mailbox and in a forward alike; dkimpy verifies both', async () => {
    const submit = (to: string, subject: string) =>
      sendMessage({
        host: m.submission.host,
        port: m.submission.port,
        requireTls: true,
        auth: alice,
        from: alice.user,
        to: [to],
        message: Buffer.from(
          `From: ${alice.user}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@example.test>\r\n\r\n${subject}\r\n`,
        ),
      });
    assert.match(await submit('bob@example.test', 'to a local mailbox'), /^250 /);
    assert.match(await submit('fwd@example.test', 'to a forward'), /^250 /);
    const local = await waitFor('the copy in bob@', () => m.mailbox('bob@example.test').find((b) => b.toString().includes('Subject: to a local mailbox')), {
      timeoutMs: 30_000,
    });
    const forwarded = await waitFor('the forward at far.test', () => m.far.messages.find((x) => x.data.toString().includes('Subject: to a forward')), {
      timeoutMs: 30_000,
    });
    assert.equal(forwarded.from, alice.user, 'our own sender is not rewritten');
    const verify = join(import.meta.dirname, '../transports/dkim-verify.py');
    for (const message of [local, forwarded.data]) {
      assert.equal(execFileSync('/usr/bin/python3', [verify, m.dns.address], { input: message, encoding: 'utf8' }).trim(), 'example.test s1 pass');
    }
  });

  test('the metrics count the verdicts by method and result, the SRS rewrite, the policy lookup and the TLS session', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${m.opsPort}/metrics`)).text();
    // alice@sender.test from 127.0.0.10: SPF pass, no DKIM signature, DMARC none (no record).
    assert.match(metrics, /\nstafette_auth_verdicts_total\{method="spf",result="pass"\} [1-9]/);
    assert.match(metrics, /\nstafette_auth_verdicts_total\{method="dmarc",result="none"\} [1-9]/);
    for (const [, method, result] of metrics.matchAll(/\nstafette_auth_verdicts_total\{method="([^"]*)",result="([^"]*)"\}/g)) {
      assert.ok(['spf', 'dkim', 'arc', 'dmarc', 'other'].includes(method!), `bounded method label: ${method}`);
      assert.ok(
        ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy', 'other'].includes(result!),
        `bounded result label: ${result}`,
      );
    }
    assert.match(metrics, /\nstafette_srs_total\{operation="forward",result="ok"\} 1\n/);
    // far.test publishes no MTA-STS policy; its MX offers STARTTLS (a session with no policy to check).
    assert.match(metrics, /\nstafette_mta_sts_policy_lookups_total\{outcome="not_found"\} [1-9]/);
    assert.match(metrics, /\nstafette_tls_sessions_total\{policy_type="no-policy-found",result="success"\} [1-9]/);
  });
});
