// Submission identity end to end (docs/trust-model.md §2.1): a real `stafette mta` with delivery,
// a real client (Python's smtplib) logged in as alice@example.test, a remote MX (far.test) and
// dkimpy as the independent DKIM verifier. A login that puts another address or domain in the
// header From or Sender is refused with 550 5.7.1 at the end of DATA and nothing reaches the
// remote MX; its own From is delivered DKIM-signed by example.test, and dkimpy agrees.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { independentVerdicts } from '../harness/independent-verifier.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { alice, startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

function send(req: object): { code: number; reply: string } {
  const script = join(import.meta.dirname, '../dsn/smtplib-send.py');
  return JSON.parse(execFileSync('/usr/bin/python3', [script], { input: JSON.stringify(req), encoding: 'utf8' })) as { code: number; reply: string };
}

const message = (head: string, subject: string) =>
  `${head}To: carol@far.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@example.test>\r\n\r\nbody of ${subject}\r\n`;

describe('trust - a login signs only its own mail', () => {
  let m: StandardsMta;
  before(async () => {
    m = await startStandardsMta('trust-submission');
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  const submit = (head: string, subject: string) =>
    send({
      host: m.submission.host,
      port: m.submission.port,
      starttls: true,
      login: [alice.user, alice.pass],
      from: alice.user,
      to: ['carol@far.test'],
      message: message(head, subject),
    });

  test('another domain or address in From or Sender: 550 5.7.1 and nothing is delivered; its own From is signed', async () => {
    for (const [head, subject] of [
      ['From: CEO <ceo@far.test>\r\n', 'forged from another domain'],
      ['From: bob@example.test\r\n', 'forged from a neighbour'],
      [`From: ${alice.user}\r\nSender: ops@far.test\r\n`, 'forged sender'],
      [`From: ${alice.user}, ceo@far.test\r\n`, 'forged second author'],
    ] as const) {
      const r = submit(head, subject);
      assert.equal(r.code, 550, subject);
      assert.match(r.reply, /^5\.7\.1 (From|Sender) header address not owned by the authenticated user$/, subject);
    }

    assert.equal(submit(`From: Alice <${alice.user}>\r\n`, 'her own').code, 250);
    const copy = await waitFor('alice mail at far.test', () => m.far.messages.find((x) => x.data.includes('Subject: her own')), { timeoutMs: 30_000 });
    // The refused ones were never queued: only alice's own message reached the remote MX.
    assert.equal(m.far.messages.length, 1);
    assert.match(copy.data.toString(), /^DKIM-Signature: [^]*d=example\.test/);
    const theirs = await independentVerdicts(copy.data, { dns: m.dns.address, ip: copy.clientIp, helo: 'mx.example.test', mailFrom: copy.from });
    assert.deepEqual(
      theirs.dkim.map((d) => [d.d, d.result]),
      [['example.test', 'pass']],
    );
  });
});
