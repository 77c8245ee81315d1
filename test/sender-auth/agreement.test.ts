// Our inbound checks (mailauth through our DNS cache) against an independent implementation
// (pyspf, dkimpy, authheaders) on the same messages, client IPs, HELO names and envelopes, both
// asking one real DNS server (dnsmasq) that serves the test sender domains' SPF, DKIM and DMARC
// records. Messages are signed by dkimpy's dkimsign and sealed by its arcsign, not by us.
//
// Vocabulary: SPF, ARC and DMARC results are compared as they are. DKIM results are compared as
// pass / temperror / failed: implementations name the ways a signature fails differently
// (dkimpy says fail where mailauth says permerror for a key that is not published, RFC 8601
// allows both), and what matters for a verdict is whether it passed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../mta/src/dns/dns-client.ts';
import { createCachingResolver } from '../../mta/src/dns/dns-cache.ts';
import { createLookupBudget } from '../../mta/src/dns/lookup-budget.ts';
import { verifyMessage, type AuthVerdicts } from '../../mta/src/sender-auth/verify-message.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { dkimpyArcSign, dkimpySign } from '../harness/dkimpy.ts';
import { independentVerdicts, type IndependentVerdicts } from '../harness/independent-verifier.ts';
import { createSenderDomains, senderZone, type SenderZone } from '../harness/mail-dns.ts';
import { stopAll } from '../harness/process.ts';

const goodIp = '127.0.0.10';
const otherIp = '127.0.0.11';
const forwarderIp = '127.0.0.20';

function message(from: string, subject: string): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      'To: bob@example.com',
      `Subject: ${subject}`,
      'Date: Wed, 18 Nov 2026 10:00:00 +0000',
      `Message-ID: <${subject.replace(/\W+/g, '-')}@test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain',
      '',
      `${subject}.`,
      '',
    ].join('\r\n'),
  );
}

describe('inbound verdicts agree with an independent implementation, method by method', () => {
  let dns: DnsServer;
  let senders: SenderZone;

  before(async () => {
    senders = createSenderDomains([
      { name: 'pass.test', spf: `v=spf1 ip4:${goodIp} -all`, dmarc: 'v=DMARC1; p=reject' },
      { name: 'soft.test', spf: `v=spf1 ip4:${goodIp} ~all`, dmarc: 'v=DMARC1; p=quarantine' },
      { name: 'neutral.test', spf: 'v=spf1 ?all', dmarc: 'v=DMARC1; p=none' },
      { name: 'none.test' },
      { name: 'perm.test', spf: 'v=spf1 ip4:127.0.0.10 bogus:mechanism -all' },
      { name: 'unpublished.test', spf: `v=spf1 ip4:${goodIp} -all`, dkim: false, dmarc: 'v=DMARC1; p=reject' },
      { name: 'forwarder.test', spf: `v=spf1 ip4:${forwarderIp} -all`, dkim: 'arc' },
    ]);
    dns = await startDnsServer(senderZone(senders, { local: ['test'] }));
  });
  after(async () => {
    await dns.stop();
    await stopAll();
  });

  async function both(msg: Buffer, ip: string, mailFrom: string, helo = 'client.example.org'): Promise<{ ours: AuthVerdicts; theirs: IndependentVerdicts }> {
    const cache = createCachingResolver({ query: createDnsClient({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }) });
    const budget = createLookupBudget({ cache, budgetMs: 5_000 });
    const [ours, theirs] = await Promise.all([
      verifyMessage({ message: msg, ip, helo, mailFrom, authservId: 'mx.example.com', resolver: budget.resolver }),
      independentVerdicts(msg, { dns: dns.address, ip, helo, mailFrom }),
    ]);
    return { ours, theirs };
  }

  const dkimClass = (r: string) => (r === 'pass' || r === 'temperror' || r === 'none' ? r : 'failed');

  function assertAgree(
    label: string,
    { ours, theirs }: { ours: AuthVerdicts; theirs: IndependentVerdicts },
    expected: { spf: string; dkim: string[]; arc: string; dmarc: string },
  ) {
    const mine = {
      spf: ours.spf.result,
      dkim: ours.dkim.signatures.map((s) => dkimClass(s.result)),
      arc: ours.arc.result,
      dmarc: ours.dmarc?.result ?? 'none',
    };
    const other = { spf: theirs.spf, dkim: theirs.dkim.map((s) => dkimClass(s.result)), arc: theirs.arc, dmarc: theirs.dmarc };
    assert.deepEqual(mine, other, `${label}: ours and the independent verifier disagree`);
    assert.deepEqual(mine, expected, `${label}: not the expected verdicts`);
  }

  const cases: readonly [string, () => Promise<Buffer>, string, string, { spf: string; dkim: string[]; arc: string; dmarc: string }][] = [
    [
      'SPF pass, DKIM pass, DMARC pass',
      () => dkimpySign(message('a@pass.test', 'all pass'), senders.domains.get('pass.test')!),
      goodIp,
      'a@pass.test',
      { spf: 'pass', dkim: ['pass'], arc: 'none', dmarc: 'pass' },
    ],
    [
      'SPF fail, unsigned: DMARC fail (p=reject)',
      () => Promise.resolve(message('a@pass.test', 'spf fail')),
      otherIp,
      'a@pass.test',
      { spf: 'fail', dkim: [], arc: 'none', dmarc: 'fail' },
    ],
    [
      'SPF fail but aligned DKIM pass: DMARC pass',
      () => dkimpySign(message('a@pass.test', 'dkim saves'), senders.domains.get('pass.test')!),
      otherIp,
      'a@pass.test',
      { spf: 'fail', dkim: ['pass'], arc: 'none', dmarc: 'pass' },
    ],
    [
      'SPF softfail, DMARC fail (p=quarantine)',
      () => Promise.resolve(message('a@soft.test', 'softfail')),
      otherIp,
      'a@soft.test',
      { spf: 'softfail', dkim: [], arc: 'none', dmarc: 'fail' },
    ],
    [
      'SPF neutral, DMARC fail (p=none)',
      () => Promise.resolve(message('a@neutral.test', 'neutral')),
      otherIp,
      'a@neutral.test',
      { spf: 'neutral', dkim: [], arc: 'none', dmarc: 'fail' },
    ],
    [
      'no SPF, no DMARC record: none',
      () => Promise.resolve(message('a@none.test', 'nothing published')),
      otherIp,
      'a@none.test',
      { spf: 'none', dkim: [], arc: 'none', dmarc: 'none' },
    ],
    [
      'SPF permerror (unknown mechanism)',
      () => Promise.resolve(message('a@none.test', 'permerror')),
      goodIp,
      'a@perm.test',
      { spf: 'permerror', dkim: [], arc: 'none', dmarc: 'none' },
    ],
    [
      'SPF pass for another domain: not aligned, DMARC fail',
      () => Promise.resolve(message('a@pass.test', 'unaligned spf')),
      goodIp,
      'bounce@unpublished.test',
      { spf: 'pass', dkim: [], arc: 'none', dmarc: 'fail' },
    ],
    [
      'DKIM by another domain: not aligned, DMARC fail',
      () => dkimpySign(message('a@soft.test', 'unaligned dkim'), senders.domains.get('pass.test')!),
      otherIp,
      'a@soft.test',
      { spf: 'softfail', dkim: ['pass'], arc: 'none', dmarc: 'fail' },
    ],
    [
      'DKIM key not published: the signature fails',
      () => dkimpySign(message('a@unpublished.test', 'no key'), senders.domains.get('unpublished.test')!),
      otherIp,
      'a@unpublished.test',
      { spf: 'fail', dkim: ['failed'], arc: 'none', dmarc: 'fail' },
    ],
    [
      'body changed after signing: DKIM fails',
      async () => {
        const signed = await dkimpySign(message('a@pass.test', 'tampered'), senders.domains.get('pass.test')!);
        return Buffer.from(signed.toString().replace('tampered.', 'changed!'));
      },
      goodIp,
      'a@pass.test',
      { spf: 'pass', dkim: ['failed'], arc: 'none', dmarc: 'pass' },
    ],
    [
      'an ARC chain through a forwarder verifies',
      async () => {
        const original = await dkimpySign(message('a@pass.test', 'forwarded'), senders.domains.get('pass.test')!);
        const withResults = Buffer.concat([
          Buffer.from(
            'Authentication-Results: mx.forwarder.test; spf=pass smtp.mailfrom=pass.test; dkim=pass header.d=pass.test; dmarc=pass header.from=pass.test\r\n',
          ),
          original,
        ]);
        return dkimpyArcSign(withResults, senders.domains.get('forwarder.test')!, 'mx.forwarder.test');
      },
      forwarderIp,
      'a@pass.test',
      { spf: 'fail', dkim: ['pass'], arc: 'pass', dmarc: 'pass' },
    ],
  ];

  for (const [label, build, ip, mailFrom, expected] of cases) {
    test(label, async () => assertAgree(label, await both(await build(), ip, mailFrom), expected));
  }

  test('DMARC policies agree (reject, quarantine, none)', async () => {
    for (const [domain, policy] of [
      ['pass.test', 'reject'],
      ['soft.test', 'quarantine'],
      ['neutral.test', 'none'],
    ] as const) {
      const { ours, theirs } = await both(message(`a@${domain}`, `policy ${domain}`), otherIp, `a@${domain}`);
      assert.equal(ours.dmarc?.policy, policy, domain);
      assert.equal(theirs.policy, policy, domain);
    }
  });

  test('temperror: with the DNS server stopped, both say temperror, and ours within its budget', async () => {
    await dns.stop();
    const started = Date.now();
    const { ours, theirs } = await both(message('a@pass.test', 'dns down'), goodIp, 'a@pass.test');
    assert.equal(ours.spf.result, 'temperror');
    assert.equal(theirs.spf, 'temperror');
    assert.equal(ours.dmarc?.result ?? 'temperror', 'temperror');
    assert.equal(theirs.dmarc, 'temperror');
    assert.ok(Date.now() - started < 30_000);
  });
});
