// The inbound checks as a sender on the Internet meets them: the real intake (nats-server, the
// example bundle) with its checks asking a real DNS server (dnsmasq) for the test sender
// domains, messages signed by dkimpy and sent by a real SMTP client from chosen 127.0.0.x
// addresses. Per inbound.dmarc: enforce refuses p=reject failures (550 5.7.1) and marks
// p=quarantine ones; report records; DNS failures defer (451 4.7.0) only where the verdict would
// refuse; mail claiming our own domain must be authenticated for it; forged
// Authentication-Results are removed; the stored field agrees with the independent verifier.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCachingResolver } from '../../mta/src/dns/dns-cache.ts';
import { createDnsClient } from '../../mta/src/dns/dns-client.ts';
import type { IntakeConfig } from '../../mta/src/smtp/index.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { dkimpyArcSign, dkimpySign } from '../harness/dkimpy.ts';
import { independentVerdicts } from '../harness/independent-verifier.ts';
import { createSenderDomains, senderZone, type SenderZone } from '../harness/mail-dns.ts';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, renderExampleBundle, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';

const goodIp = '127.0.0.10';
const otherIp = '127.0.0.11';
const ownIp = '127.0.0.30';
const forwarderIp = '127.0.0.20';
// A load balancer in front of the MX: its PROXY header names the client (docs/reliability.md §1).
const balancerIp = '127.0.0.40';

function withDmarc(config: IntakeConfig, dmarc: 'enforce' | 'report'): IntakeConfig {
  return { ...config, bundle: { ...config.bundle, domains: config.bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, dmarc } })) } };
}

function message(from: string, subject: string, extra = ''): Buffer {
  return Buffer.from(
    `${extra}From: ${from}\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nDate: Wed, 18 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, '-')}@test>\r\n\r\n${subject}.\r\n`,
  );
}

/** "method=result" pairs of our Authentication-Results field in a stored body. */
function ourResults(body: Buffer): Record<string, string[]> {
  const head = body
    .subarray(0, body.indexOf('\r\n\r\n'))
    .toString()
    .replace(/\r\n[ \t]+/g, ' ');
  const field = head.split('\r\n').find((l) => /^Authentication-Results: mx\.example\.com;/i.test(l));
  assert.ok(field, `no Authentication-Results of ours in\n${head}`);
  const out: Record<string, string[]> = {};
  for (const part of field.split(';').slice(1)) {
    const m = /^\s*(\w+)=(\w+)/.exec(part);
    if (m) (out[m[1]!] ??= []).push(m[2]!);
  }
  return out;
}

describe('inbound checks on MX, over SMTP from chosen source addresses', () => {
  let dns: DnsServer;
  let senders: SenderZone;
  let f: IntakeFixture;
  let enforcing: IntakeConfig;

  before(async () => {
    senders = createSenderDomains([
      { name: 'pass.test', spf: `v=spf1 ip4:${goodIp} -all`, dmarc: 'v=DMARC1; p=reject' },
      { name: 'soft.test', spf: `v=spf1 ip4:${goodIp} ~all`, dmarc: 'v=DMARC1; p=quarantine' },
      { name: 'forwarder.test', spf: `v=spf1 ip4:${forwarderIp} -all`, dkim: 'arc' },
    ]);
    dns = await startDnsServer(
      senderZone(senders, { local: ['test', 'example.com'], txt: { 'example.com': `v=spf1 ip4:${ownIp} -all`, '_dmarc.example.com': 'v=DMARC1; p=reject' } }),
    );
    const cache = createCachingResolver({ query: createDnsClient({ servers: [dns.address], timeoutMs: 500, tries: 1 }) });
    enforcing = withDmarc(renderExampleBundle(), 'enforce');
    f = await startIntakeFixture({
      name: 'mx-checks',
      config: enforcing,
      listeners: { mx: { greetingDelayMs: 0, proxyFrom: [`${balancerIp}/32`] } },
      intake: { inboundChecks: { cache, budgetMs: 3_000 } },
    });
  });
  after(async () => {
    await f.close();
    await dns.stop();
    await stopAll();
  });

  const send = (msg: Buffer, ip: string, from: string) =>
    sendMessage({ host: f.mx.host, port: f.mx.port, localAddress: ip, from, to: ['bob@example.com'], message: msg });

  test('authenticated mail is accepted with one Authentication-Results that agrees with the independent verifier', async () => {
    const msg = await dkimpySign(message('a@pass.test', 'all pass'), senders.domains.get('pass.test')!);
    const reply = await send(msg, goodIp, 'a@pass.test');
    assert.match(reply, /^250 /);
    const stored = await f.stored(queueIdOf(reply));
    const ours = ourResults(stored.body);
    const theirs = await independentVerdicts(msg, { dns: dns.address, ip: goodIp, helo: 'client.example.org', mailFrom: 'a@pass.test' });
    assert.deepEqual(ours, { dkim: theirs.dkim.map((d) => d.result), spf: [theirs.spf], arc: [theirs.arc], dmarc: [theirs.dmarc] });
    assert.deepEqual(ours, { dkim: ['pass'], spf: ['pass'], arc: ['none'], dmarc: ['pass'] });
    // Received first, then ours, then the message as sent.
    assert.match(stored.body.toString(), /^Received: from client\.example\.org [^]*?\r\nAuthentication-Results: mx\.example\.com;\r\n/);
  });

  test('behind a trusted PROXY sender, SPF judges the client the header names, not the balancer', async () => {
    const dialog = (client: string, subject: string, reply: string) => `
c! PROXY TCP4 ${client} 127.0.0.1 40000 25\\r\\n
s: 220 *
c: EHLO client.example.org
s: 250 *
c: MAIL FROM:<a@pass.test>
s: 250 *
c: RCPT TO:<bob@example.com>
s: 250 *
c: DATA
s: 354 *
c: From: a@pass.test
c: To: bob@example.com
c: Subject: ${subject}
c:
c: via the balancer
c: .
s: ${reply}
c: QUIT
s: 221 *`;
    const via = { ...f.mx, localAddress: balancerIp };
    const { log } = await playTranscript(via, dialog(goodIp, 'proxied pass', '250 *'));
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.deepEqual(ourResults(stored.body).spf, ['pass']);
    assert.match(stored.body.toString(), new RegExp(`^Received: from client\\.example\\.org \\(\\S* ?\\[${goodIp.replaceAll('.', '\\.')}\\]`));
    // The same balancer, a client SPF does not allow: p=reject under enforce refuses it.
    await playTranscript(via, dialog(otherIp, 'proxied fail', '550 5.7.1 *'));
  });

  test('enforce: DMARC fail under p=reject is refused with 550 5.7.1; under p=quarantine marked', async () => {
    assert.match(await send(message('a@pass.test', 'forged'), otherIp, 'a@pass.test'), /^550 5\.7\.1 /);
    const reply = await send(message('a@soft.test', 'suspicious'), otherIp, 'a@soft.test');
    assert.match(reply, /^250 /);
    const stored = (await f.stored(queueIdOf(reply))).body.toString();
    assert.match(stored, /\r\nX-Stafette-Quarantine: dmarc \(p=quarantine; header\.from=soft\.test\)\r\n/);
    assert.deepEqual(ourResults(Buffer.from(stored)).dmarc, ['fail']);
  });

  test('report: the same failure is accepted and only recorded', async () => {
    f.config = withDmarc(enforcing, 'report');
    try {
      const reply = await send(message('a@pass.test', 'forged but reported'), otherIp, 'a@pass.test');
      assert.match(reply, /^250 /);
      const stored = await f.stored(queueIdOf(reply));
      assert.deepEqual(ourResults(stored.body), { dkim: ['none'], spf: ['fail'], arc: ['none'], dmarc: ['fail'] });
      assert.doesNotMatch(stored.body.toString(), /X-Stafette-Quarantine/);
    } finally {
      f.config = enforcing;
    }
  });

  test('mail claiming our own domain must pass SPF or DMARC for it, even in report mode', async () => {
    f.config = withDmarc(enforcing, 'report');
    try {
      assert.match(
        await send(message('ceo@example.com', 'urgent wire transfer'), otherIp, 'ceo@example.com'),
        /^550 5\.7\.1 Message claims to be from example\.com/,
      );
      assert.match(await send(message('ceo@example.com', 'from our own server'), ownIp, 'ceo@example.com'), /^250 /);
      // Only the From header ours, the envelope someone else's: DMARC must pass, and does not.
      assert.match(await send(message('ceo@example.com', 'header only'), goodIp, 'a@pass.test'), /^550 5\.7\.1 /);
    } finally {
      f.config = enforcing;
    }
  });

  test("an Authentication-Results field claiming our authserv-id is removed; another server's stays", async () => {
    const forged =
      'Authentication-Results: mx.example.com; dkim=pass header.d=bank.test; dmarc=pass header.from=bank.test\r\nAuthentication-Results: mx.elsewhere.test; spf=pass\r\n';
    const msg = await dkimpySign(message('a@pass.test', 'forged results', forged), senders.domains.get('pass.test')!);
    const reply = await send(msg, goodIp, 'a@pass.test');
    assert.match(reply, /^250 /);
    const stored = (await f.stored(queueIdOf(reply))).body.toString();
    assert.equal(stored.match(/^Authentication-Results: mx\.example\.com;/gim)?.length, 1);
    assert.doesNotMatch(stored, /bank\.test/);
    assert.match(stored, /\r\nAuthentication-Results: mx\.elsewhere\.test; spf=pass\r\n/);
  });

  test('an ARC chain through a forwarder is verified and recorded (arc=pass)', async () => {
    const original = await dkimpySign(message('a@pass.test', 'via a list'), senders.domains.get('pass.test')!);
    const withResults = Buffer.concat([
      Buffer.from('Authentication-Results: mx.forwarder.test; spf=pass smtp.mailfrom=pass.test; dkim=pass header.d=pass.test\r\n'),
      original,
    ]);
    const sealed = await dkimpyArcSign(withResults, senders.domains.get('forwarder.test')!, 'mx.forwarder.test');
    const reply = await send(sealed, forwarderIp, 'list@forwarder.test');
    assert.match(reply, /^250 /);
    assert.deepEqual(ourResults((await f.stored(queueIdOf(reply))).body).arc, ['pass']);
  });

  test('DNS down: where the verdict would refuse, 451 4.7.0; in report mode accepted with temperror', async () => {
    await dns.stop();
    assert.match(await send(message('a@pass.test', 'dns down'), goodIp, 'a@pass.test'), /^451 4\.7\.0 /);
    f.config = withDmarc(enforcing, 'report');
    const reply = await send(message('a@pass.test', 'dns down, reported'), goodIp, 'a@pass.test');
    assert.match(reply, /^250 /);
    const results = ourResults((await f.stored(queueIdOf(reply))).body);
    assert.deepEqual([results.spf, results.dmarc], [['temperror'], ['temperror']]);
  });
});
