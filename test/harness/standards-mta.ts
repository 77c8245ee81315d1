// A whole `stafette mta` process with delivery, for the end-to-end tests of the mail standards
// (test/dsn/, test/srs/, test/mta-sts/policy-served.test.ts): a real nats-server, dnsmasq as
// the only DNS, the bundle mounted as Kubernetes mounts it, the mx and submission listeners and
// the MTA-STS policy listener on loopback, remote MX hosts (smtp-server receivers) on 127.0.0.x
// at the MTA's outbound port.
//
// The bundle: example.test (ours; hostname mx.example.test; a certificate of the test CA for
// mx.example.test and mta-sts.example.test; its MTA-STS policy published; DKIM and SRS keys;
// SPF allows 127.0.0.1, where our outbound connections come from), mailboxes alice@ (login
// "alice-secret", local maildir), bob@ (local maildir), fwd@ (forwards to carol@far.test),
// gone@ (forwards to reject@far.test, which far.test refuses: a bounce).
// Remote domains: far.test (mx.far.test 127.0.0.51; reject@ refused with 550, defer@ with 451), sender.test
// (mx.sender.test 127.0.0.52; SPF allows 127.0.0.10).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../bundle/password-hash.ts';
import { bundleFiles, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { startDnsServer, type DnsServer } from './dns-server.ts';
import { testMtaArgv } from './mta-argv.ts';
import { startNatsServer, type NatsServer } from './nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';
import { startSmtpReceiver, type SmtpReceiver } from './smtp-receivers.ts';
import { createTestCa, type TestCa } from './test-ca.ts';
import { dkimKey, testBundle, testDomain } from '../transports/transport-fixtures.ts';

export const mtaStsPolicyText = 'version: STSv1\nmode: testing\nmx: mx.example.test\nmax_age: 86400\n';
export const alice = { user: 'alice@example.test', pass: 'alice-secret' };

export interface StandardsMta {
  readonly nats: NatsServer;
  readonly dns: DnsServer;
  readonly ca: TestCa;
  readonly mta: ManagedProcess;
  readonly dir: string;
  readonly mx: { host: string; port: number };
  readonly submission: { host: string; port: number };
  readonly policyPort: number;
  /** The operations endpoint (/metrics, /readyz) on 127.0.0.1. */
  readonly opsPort: number;
  readonly far: SmtpReceiver;
  readonly sender: SmtpReceiver;
  /** Messages in a local mailbox's maildir (new/). */
  mailbox(address: string): Buffer[];
  close(): Promise<void>;
}

export interface StandardsMtaOptions {
  /** More `stafette mta` flags (e.g. the spam checks'). */
  readonly mtaArgs?: readonly string[];
  /** More A/AAAA and TXT records for dnsmasq (e.g. a blocklist's). */
  readonly hosts?: Readonly<Record<string, readonly string[]>>;
  readonly txt?: Readonly<Record<string, string>>;
}

export async function startStandardsMta(name: string, options: StandardsMtaOptions = {}): Promise<StandardsMta> {
  const dir = mkdtempSync(join(tmpdir(), `stafette-${name}-`));
  const ca = await createTestCa();
  const outboundPort = await freePort('127.0.0.51');
  const far = await startSmtpReceiver({
    host: '127.0.0.51',
    port: outboundPort,
    name: 'mx.far.test',
    rcptReply: (a) => (a.startsWith('reject@') ? '550 5.1.1 no such user' : a.startsWith('defer@') ? '451 4.2.0 mailbox busy, try later' : null),
  });
  const sender = await startSmtpReceiver({ host: '127.0.0.52', port: outboundPort, name: 'mx.sender.test' });
  const nats = await startNatsServer({ name: `nats-${name}` });

  const key = dkimKey('s1', 'rsa');
  const dns = await startDnsServer({
    local: ['test'],
    mx: {
      'far.test': [{ exchange: 'mx.far.test', priority: 10 }],
      'sender.test': [{ exchange: 'mx.sender.test', priority: 10 }],
      'example.test': [{ exchange: 'mx.example.test', priority: 10 }],
    },
    hosts: { 'mx.far.test': ['127.0.0.51'], 'mx.sender.test': ['127.0.0.52'], 'mx.example.test': ['127.0.0.1'], ...options.hosts },
    txt: {
      's1._domainkey.example.test': key.record,
      'example.test': 'v=spf1 ip4:127.0.0.1 -all',
      'sender.test': 'v=spf1 ip4:127.0.0.10 -all',
      ...options.txt,
    },
  });
  const domain = {
    ...testDomain('example.test', [key]),
    tls: { secretName: 'mail/example-tls' },
    mtaSts: { policy: mtaStsPolicyText },
  };
  const parts = testBundle(
    {
      domains: [domain],
      mailboxes: [
        { address: 'alice@example.test', source: { namespace: 'mail', name: 'alice' }, login: true, sendAs: [], delivery: { type: 'local' } },
        { address: 'bob@example.test', source: { namespace: 'mail', name: 'bob' }, login: false, sendAs: [], delivery: { type: 'local' } },
        {
          address: 'fwd@example.test',
          source: { namespace: 'mail', name: 'fwd' },
          login: false,
          sendAs: [],
          delivery: { type: 'forward', to: ['carol@far.test'], keepCopy: false },
        },
        {
          address: 'gone@example.test',
          source: { namespace: 'mail', name: 'gone' },
          login: false,
          sendAs: [],
          delivery: { type: 'forward', to: ['reject@far.test'], keepCopy: false },
        },
      ],
    },
    { keys: [{ domain: 'example.test', key }] },
  );
  const cert = await ca.issue(['mx.example.test', 'mta-sts.example.test']);
  const secrets = {
    ...parts.secrets,
    passwords: { [alice.user]: hashPassword(alice.pass) },
    tlsCertificates: { 'mail/example-tls': cert },
    srsKeys: ['stafette-e2e-srs-key-current', 'stafette-e2e-srs-key-previous'],
  };
  const files = bundleFiles({ bundle: parts.bundle, secrets });
  const configDir = join(dir, 'config');
  const secretDir = join(dir, 'secret');
  writeMountedFiles(configDir, files.config);
  writeMountedFiles(secretDir, files.secrets);

  const [mxPort, submissionPort, opsPort, policyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const mta = startProcess(
    `mta-${name}`,
    process.execPath,
    testMtaArgv({
      configDir,
      secretDir,
      nats: nats.url,
      instance: name,
      listeners: ['mx', 'submission'],
      mxPort,
      submissionPort,
      opsPort,
      extra: [
        ...['--hostname', 'mx.example.test', '--dns', dns.address, '--outbound-port', String(outboundPort)],
        ...['--mta-sts-listen', `127.0.0.1:${policyPort}`, '--tls-ca-file', ca.caFile, '--local-maildir-root', join(dir, 'mail')],
        ...['--retry-schedule', '2s', '--config-recheck', '1'],
        ...(options.mtaArgs ?? []),
      ],
    }),
    { logDir: dir },
  );
  await waitFor(
    'the MTA to be ready',
    async () => {
      if (mta.child.exitCode !== null) throw new Error(`the MTA exited; see ${mta.logFile}`);
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000 },
  );

  return {
    nats,
    dns,
    ca,
    mta,
    dir,
    far,
    sender,
    policyPort,
    opsPort,
    mx: { host: '127.0.0.1', port: mxPort },
    submission: { host: '127.0.0.1', port: submissionPort },
    mailbox(address) {
      const box = join(dir, 'mail', address, 'new');
      try {
        return readdirSync(box)
          .sort()
          .map((f) => readFileSync(join(box, f)));
      } catch {
        return [];
      }
    },
    async close() {
      await mta.stop();
      await far.stop();
      await sender.stop();
      await nats.destroy();
      await dns.stop();
    },
  };
}
