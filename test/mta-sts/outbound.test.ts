// Outbound MTA-STS, REQUIRETLS, DSN pass-on and TLS-RPT against real components on loopback:
// dnsmasq serves the recipient domains' MX, _mta-sts and _smtp._tls records; a loopback HTTPS
// policy host (test CA) serves their policies; real SMTP servers on 127.0.0.x present a
// certificate of the test CA for their name (or one that does not verify); the policies and the
// TLS-RPT counts live in a real nats-server's key-value buckets. The remote transport is the
// MTA's own, with the standards wired as main.ts wires them. Relays to the same servers have
// their certificates verified unless they opt out; the day's reports are mailed by one of two
// report senders (pods) and parsed by Python's email, gzip and json.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createCachingResolver } from '../../mta/src/dns/dns-cache.ts';
import { createDnsClient } from '../../mta/src/dns/dns-client.ts';
import { createPolicyStore, mailauthFetch, openPolicyBucket } from '../../mta/src/mta-sts/policy-store.ts';
import { buildTrustStore, installTrustStore } from '../../mta/src/outbound-tls/trust-store.ts';
import { reportDestinations } from '../../mta/src/tls-report/report-policy.ts';
import { startReportSender } from '../../mta/src/tls-report/report-sender.ts';
import { createTlsReportRecorder, openTlsReportBucket, type ReportKv } from '../../mta/src/tls-report/report-store.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { silentLogger } from '../../observability/logger.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startPolicyHost, type PolicyHost } from '../harness/https-policy-host.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { createTestCa } from '../harness/test-ca.ts';
import { testBundle, testDomain, testMessage, testRecord, testRelay } from '../transports/transport-fixtures.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

/** The parts of an RFC 8460 report the tests read. */
interface Rfc8460Report {
  'date-range': { 'start-datetime': string };
  policies: {
    policy: Record<string, unknown> & { 'policy-domain': string };
    summary: Record<string, number>;
    'failure-details': Record<string, unknown>[];
  }[];
}
const policy = (mode: string, mx: string[]) => `version: STSv1\nmode: ${mode}\n${mx.map((m) => `mx: ${m}\n`).join('')}max_age: 86400\n`;

describe('outbound MTA-STS, REQUIRETLS, DSN and TLS-RPT', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let dns: DnsServer;
  const hosts: PolicyHost[] = [];
  let good: SmtpReceiver; // mx.good.test, certificate for its name, DSN + REQUIRETLS
  let bad: SmtpReceiver; // mx.bad.test, certificate for another name
  let plain: SmtpReceiver; // mx.plain.test, valid certificate, no DSN, no REQUIRETLS
  let transport: RemoteSmtpTransport;
  let recorder: ReturnType<typeof createTlsReportRecorder>;
  let reportsKv: ReportKv;
  let lookup: (name: string, type: string) => Promise<unknown>;
  // Relays to the same receivers (filled in once their port is known): certificates verify
  // unless the Relay opts out (Relay.spec.insecureSkipVerify, verifyCertificate: false here).
  const relays: ReturnType<typeof testRelay>[] = [];
  const config = testBundle({ domains: [testDomain('example.test')], relays });

  before(async () => {
    const ca = await createTestCa();
    installTrustStore(buildTrustStore(ca.caPem));
    const port = await freePort('127.0.0.41');
    good = await startSmtpReceiver({ host: '127.0.0.41', port, name: 'mx.good.test', tls: await ca.issue(['mx.good.test']), offer: ['DSN', 'REQUIRETLS'] });
    bad = await startSmtpReceiver({ host: '127.0.0.42', port, name: 'mx.bad.test', tls: await ca.issue(['somebody-else.test']) });
    plain = await startSmtpReceiver({ host: '127.0.0.43', port, name: 'mx.plain.test', tls: await ca.issue(['mx.plain.test']) });
    const relayed = { auth: false, match: { default: false, senderDomains: [], recipientDomains: [] } };
    relays.push(
      testRelay('mail/good', 'mx.good.test', port, relayed),
      testRelay('mail/bad', 'mx.bad.test', port, relayed),
      testRelay('mail/bad-unverified', 'mx.bad.test', port, { ...relayed, verifyCertificate: false }),
    );
    const policies: Record<string, string> = {
      'good.test': policy('enforce', ['mx.good.test']),
      'bad.test': policy('enforce', ['mx.bad.test']),
      'lax.test': policy('testing', ['mx.bad.test']),
      'strict.test': policy('enforce', ['mx.elsewhere.test']),
      'plain.test': policy('enforce', ['mx.plain.test']),
    };
    const zone = {
      local: ['test'],
      mx: {} as Record<string, { exchange: string; priority: number }[]>,
      hosts: { 'mx.good.test': ['127.0.0.41'], 'mx.bad.test': ['127.0.0.42'], 'mx.plain.test': ['127.0.0.43'] } as Record<string, string[]>,
      txt: {} as Record<string, string>,
    };
    for (const [domain, text] of Object.entries(policies)) {
      const host = await startPolicyHost(domain, text, ca);
      hosts.push(host);
      zone.hosts[`mta-sts.${domain}`] = [host.address];
      zone.txt[`_mta-sts.${domain}`] = 'v=STSv1; id=1';
      zone.txt[`_smtp._tls.${domain}`] = `v=TLSRPTv1; rua=mailto:tlsrpt@${domain}`;
    }
    zone.mx = {
      'good.test': [{ exchange: 'mx.good.test', priority: 10 }],
      'bad.test': [{ exchange: 'mx.bad.test', priority: 10 }],
      'lax.test': [{ exchange: 'mx.bad.test', priority: 10 }],
      'strict.test': [{ exchange: 'mx.good.test', priority: 10 }],
      'plain.test': [{ exchange: 'mx.plain.test', priority: 10 }],
      'nopolicy.test': [{ exchange: 'mx.bad.test', priority: 10 }],
    };
    dns = await startDnsServer(zone);
    nats = await startNatsServer({ name: 'mta-sts-outbound' });
    nc = await connect({ servers: nats.url });
    const kvm = new Kvm(nc);
    const cache = createCachingResolver({ query: createDnsClient({ servers: [dns.address] }) });
    const resolver = (name: string, type: string) => cache.resolve(name, type as never);
    lookup = resolver;
    reportsKv = await openTlsReportBucket(kvm, 1);
    recorder = createTlsReportRecorder({ kv: reportsKv, flushEveryMs: 0 });
    transport = createRemoteSmtpTransport({
      config: () => config,
      resolver: createDnsResolver({ servers: [dns.address] }),
      mxPort: port,
      standards: {
        mtaSts: createPolicyStore({ kv: await openPolicyBucket(kvm, 1), fetch: mailauthFetch(resolver) }),
        tlsReports: { recorder, wants: async (d) => (await reportDestinations(d, resolver)) !== null },
      },
    });
  });
  after(async () => {
    transport.close();
    for (const h of hosts) await h.stop();
    for (const r of [good, bad, plain]) await r.stop();
    await nc.close();
    await nats.destroy();
    await stopAll();
  });

  async function deliver(
    domain: string,
    params: { mail?: { name: string; value: string | null }[]; rcpt?: { name: string; value: string | null }[]; header?: string; relayId?: string } = {},
  ) {
    const to = `bob@${domain}`;
    const body = Buffer.concat([Buffer.from(params.header ?? ''), testMessage('alice@example.test', to, `to ${domain}`, 'hello')]);
    const record = testRecord('alice@example.test', [to], body);
    const withParams = {
      ...record,
      envelope: { mailFrom: { ...record.envelope.mailFrom, params: params.mail ?? [] }, rcptTo: [{ address: to, params: params.rcpt ?? [] }] },
    };
    const [outcome] = await transport.deliver({
      record: withParams,
      body,
      destination: params.relayId ? { kind: 'relay', relayId: params.relayId } : { kind: 'mx', domain },
      recipients: [to],
      signal: AbortSignal.timeout(30_000),
    });
    return outcome!;
  }

  test('enforce: an MX whose certificate verifies gets the mail over TLS', async () => {
    const o = await deliver('good.test');
    assert.equal(o.status, 'delivered', o.reason);
    assert.equal(good.messages.at(-1)?.secure, true);
  });

  test('enforce: an MX whose certificate does not verify is not used: deferred with 451 4.7.5', async () => {
    const before = bad.messages.length;
    const o = await deliver('bad.test');
    assert.deepEqual([o.status, o.reply.code, o.reply.enhanced], ['transient', 451, '4.7.5']);
    assert.match(o.reason, /mx\.bad\.test/);
    assert.equal(bad.messages.length, before);
  });

  test('enforce: an MX the policy does not list is not used (4.7.4); testing delivers and reports', async () => {
    const strict = await deliver('strict.test');
    assert.deepEqual([strict.status, strict.reply.enhanced], ['transient', '4.7.4']);
    const before = bad.messages.length;
    assert.equal((await deliver('lax.test')).status, 'delivered');
    assert.equal(bad.messages.length, before + 1);
  });

  test("a Relay's certificate is verified by default (451 4.7.5 when it does not); insecureSkipVerify opts out", async () => {
    assert.equal((await deliver('far.test', { relayId: 'mail/good' })).status, 'delivered');
    assert.equal(good.messages.at(-1)?.to.join(), 'bob@far.test');
    const before = bad.messages.length;
    const refused = await deliver('far.test', { relayId: 'mail/bad' });
    assert.deepEqual([refused.status, refused.reply.code, refused.reply.enhanced], ['transient', 451, '4.7.5']);
    assert.match(refused.reason, /mx\.bad\.test/);
    assert.equal(bad.messages.length, before);
    assert.equal((await deliver('far.test', { relayId: 'mail/bad-unverified' })).status, 'delivered');
    assert.equal(bad.messages.length, before + 1);
  });

  test('TLS-Required: No waives the failing policy (RFC 8689 §5)', async () => {
    assert.equal((await deliver('bad.test', { header: 'TLS-Required: No\r\n' })).status, 'delivered');
  });

  test('REQUIRETLS: delivered with the extension to a verified hop that offers it; bounced (5.7.30) otherwise', async () => {
    assert.equal((await deliver('good.test', { mail: [{ name: 'REQUIRETLS', value: null }] })).status, 'delivered');
    assert.equal(good.messages.at(-1)?.mailParams.REQUIRETLS, true);
    const without = await deliver('plain.test', { mail: [{ name: 'REQUIRETLS', value: null }] });
    assert.deepEqual([without.status, without.reply.code, without.reply.enhanced], ['permanent', 550, '5.7.30']);
    const noPolicy = await deliver('nopolicy.test', { mail: [{ name: 'REQUIRETLS', value: null }] });
    assert.deepEqual([noPolicy.status, noPolicy.reply.enhanced], ['permanent', '5.7.30']);
  });

  test('DSN parameters go on to a next hop that offers DSN; one without DSN is reported as relayed', async () => {
    const o = await deliver('good.test', {
      mail: [
        { name: 'RET', value: 'HDRS' },
        { name: 'ENVID', value: 'env 42' },
      ],
      rcpt: [
        { name: 'NOTIFY', value: 'SUCCESS,FAILURE' },
        { name: 'ORCPT', value: 'rfc822;Bob@Good.test' },
      ],
    });
    assert.equal(o.via, 'relay-with-dsn');
    const got = good.messages.at(-1)!;
    assert.deepEqual([got.mailParams.RET, got.mailParams.ENVID], ['HDRS', 'env 42']);
    assert.deepEqual(got.rcptParams['bob@good.test'], { NOTIFY: 'SUCCESS,FAILURE', ORCPT: 'rfc822;Bob@Good.test' });
    assert.equal((await deliver('plain.test', { rcpt: [{ name: 'NOTIFY', value: 'SUCCESS' }] })).via, 'relay-without-dsn');
  });

  test("the day's TLS-RPT report, printed by the CLI, parses as RFC 8460 JSON with the failures seen", async () => {
    await recorder.flush();
    const out = execFileSync(join(repoRoot, 'bin/stafette'), ['tls-report', '--nats', nats.url, '--submitter', 'mx.example.test'], { encoding: 'utf8' });
    const reports = JSON.parse(out) as (Rfc8460Report & Record<string, unknown>)[];
    const byDomain = new Map(reports.map((r) => [r.policies[0]!.policy['policy-domain'], r]));
    for (const r of reports) {
      for (const field of ['organization-name', 'date-range', 'contact-info', 'report-id', 'policies']) assert.ok(field in r, field);
      assert.match(r['date-range']['start-datetime'], /^\d{4}-\d\d-\d\dT00:00:00Z$/);
    }
    const badReport = byDomain.get('bad.test')!.policies[0]!;
    assert.equal(badReport.policy['policy-type'], 'sts');
    assert.deepEqual(badReport.policy['policy-string'], ['version: STSv1', 'mode: enforce', 'mx: mx.bad.test', 'max_age: 86400']);
    assert.ok(badReport.summary['total-failure-session-count']! >= 1);
    assert.equal(badReport['failure-details'][0]!['result-type'], 'certificate-host-mismatch');
    assert.equal(badReport['failure-details'][0]!['receiving-mx-hostname'], 'mx.bad.test');
    assert.ok(byDomain.get('good.test')!.policies[0]!.summary['total-successful-session-count']! >= 1);
    assert.equal(byDomain.get('strict.test')!.policies[0]!['failure-details'][0]!['result-type'], 'validation-failure');
  });

  test("after the day, one of two pods mails each domain's report to its rua, and the mail parses as RFC 8460 §5.3 says", async () => {
    await recorder.flush();
    const tomorrow = () => Date.now() + 86_400_000;
    const sent: { pod: string; from: string; to: readonly string[]; body: Buffer }[] = [];
    const pods = ['pod-a', 'pod-b'].map((pod) =>
      startReportSender({
        kv: reportsKv,
        resolver: lookup,
        pod,
        logger: silentLogger,
        now: tomorrow,
        everyMs: 3_600_000,
        identity: () => ({
          organization: 'Stafette at mx.example.test',
          submitter: 'mx.example.test',
          contact: 'postmaster@example.test',
          from: 'postmaster@example.test',
        }),
        send: (mail) => {
          sent.push({ pod, ...mail });
          return Promise.resolve();
        },
      }),
    );
    try {
      const counts = await Promise.all(pods.map((p) => p.runOnce()));
      const domains = sent.map((m) => m.to[0]!.replace(/^tlsrpt@/, '')).sort();
      assert.equal(
        counts.reduce((a, b) => a + b),
        sent.length,
      );
      assert.deepEqual(domains, [...new Set(domains)], 'each report sent once across both pods');
      for (const d of ['bad.test', 'good.test', 'strict.test']) assert.ok(domains.includes(d), `a report for ${d}`);
      // Run again: the claims stand, nothing is sent twice.
      assert.deepEqual(await Promise.all(pods.map((p) => p.runOnce())), [0, 0]);

      const bad = sent.find((m) => m.to[0] === 'tlsrpt@bad.test')!;
      const parsed = JSON.parse(
        execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'parse-tlsrpt-mail.py')], { input: bad.body, encoding: 'utf8' }),
      ) as { content_type: string; report_type: string; report_domain: string; submitter: string; parts: string[]; filename: string; report: Rfc8460Report };
      assert.deepEqual(
        [parsed.content_type, parsed.report_type, parsed.report_domain, parsed.submitter],
        ['multipart/report', 'tlsrpt', 'bad.test', 'mx.example.test'],
      );
      assert.deepEqual(parsed.parts, ['text/plain', 'application/tlsrpt+gzip']);
      assert.match(parsed.filename, /^mx\.example\.test!bad\.test!\d+!\d+!\w+\.json\.gz$/);
      const policy = parsed.report.policies[0]!;
      assert.equal(policy.policy['policy-domain'], 'bad.test');
      assert.equal(policy['failure-details'][0]!['result-type'], 'certificate-host-mismatch');
    } finally {
      for (const p of pods) p.stop();
    }
  });
});
