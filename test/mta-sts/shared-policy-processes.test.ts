// Two `stafette mta` processes, one after the other on one nats-server, share one cached MTA-STS
// policy: the first fetches it from the remote domain's loopback HTTPS policy host (test CA) and
// delivers under `enforce` to the MX whose certificate verifies; the second, a fresh process with
// nothing in memory, delivers under the same policy without fetching it again (the JetStream
// key-value bucket `stafette_mta_sts`, docs/mail-standards.md §2). Mail comes in on MX for
// fwd@example.test, a mailbox that forwards to bob@remote.test; dnsmasq is the only DNS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFiles, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startPolicyHost, type PolicyHost } from '../harness/https-policy-host.ts';
import { testMtaArgv } from '../harness/mta-argv.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, startProcess, stopAll, waitFor, type ManagedProcess } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { createTestCa, type TestCa } from '../harness/test-ca.ts';
import { testBundle, testDomain } from '../transports/transport-fixtures.ts';

const policy = 'version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n';

describe('two MTA processes share one cached MTA-STS policy', () => {
  let dir: string;
  let ca: TestCa;
  let nats: NatsServer;
  let dns: DnsServer;
  let host: PolicyHost;
  let remote: SmtpReceiver;
  let outboundPort: number;
  let configDir: string;
  let secretDir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stafette-sts-shared-'));
    ca = await createTestCa();
    outboundPort = await freePort('127.0.0.61');
    remote = await startSmtpReceiver({ host: '127.0.0.61', port: outboundPort, name: 'mx.remote.test', tls: await ca.issue(['mx.remote.test']) });
    host = await startPolicyHost('remote.test', policy, ca);
    dns = await startDnsServer({
      local: ['test'],
      mx: { 'remote.test': [{ exchange: 'mx.remote.test', priority: 10 }] },
      hosts: { 'mx.remote.test': ['127.0.0.61'], 'mta-sts.remote.test': [host.address] },
      txt: { '_mta-sts.remote.test': 'v=STSv1; id=20261203' },
    });
    nats = await startNatsServer({ name: 'sts-shared' });
    const parts = testBundle({
      domains: [testDomain('example.test')],
      mailboxes: [
        {
          address: 'fwd@example.test',
          source: { namespace: 'mail', name: 'fwd' },
          login: false,
          sendAs: [],
          delivery: { type: 'forward', to: ['bob@remote.test'], keepCopy: false },
        },
      ],
    });
    const files = bundleFiles(parts);
    configDir = join(dir, 'config');
    secretDir = join(dir, 'secret');
    writeMountedFiles(configDir, files.config);
    writeMountedFiles(secretDir, files.secrets);
  });
  after(async () => {
    await remote.stop();
    await host.stop();
    await nats.destroy();
    await dns.stop();
    await stopAll();
  });

  async function startMta(name: string): Promise<{ mta: ManagedProcess; mxPort: number; opsPort: number }> {
    const [mxPort, opsPort] = [await freePort(), await freePort()];
    const mta = startProcess(
      `mta-${name}`,
      process.execPath,
      testMtaArgv({
        configDir,
        secretDir,
        nats: nats.url,
        instance: name,
        mxPort,
        opsPort,
        extra: [
          ...['--hostname', 'mx.example.test', '--dns', dns.address, '--outbound-port', String(outboundPort), '--tls-ca-file', ca.caFile],
          ...['--no-inbound-checks', '--no-mta-sts-server', '--retry-schedule', '2s', '--config-recheck', '1'],
        ],
      }),
      { logDir: dir },
    );
    await waitFor(
      `${name} to be ready`,
      async () => {
        if (mta.child.exitCode !== null) throw new Error(`${name} exited; see ${mta.logFile}`);
        return (await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => null))?.status === 200;
      },
      { timeoutMs: 60_000 },
    );
    return { mta, mxPort, opsPort };
  }

  async function forwardThrough(name: string, subject: string): Promise<string> {
    const { mta, mxPort, opsPort } = await startMta(name);
    try {
      const message = Buffer.from(
        `From: a@sender.test\r\nTo: fwd@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${name}@sender.test>\r\n\r\n${subject}\r\n`,
      );
      assert.match(await sendMessage({ host: '127.0.0.1', port: mxPort, from: 'a@sender.test', to: ['fwd@example.test'], message }), /^250 /);
      const copy = await waitFor(`${subject} at mx.remote.test`, () => remote.messages.find((m) => m.data.toString().includes(`Subject: ${subject}`)), {
        timeoutMs: 30_000,
      });
      assert.equal(copy.secure, true, 'over TLS');
      return await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    } finally {
      await mta.stop();
    }
  }

  test('the first process fetches the policy and delivers under enforce; the second uses the shared one without a fetch', async () => {
    const first = await forwardThrough('mta-a', 'through a');
    assert.match(first, /\nstafette_mta_sts_policy_lookups_total\{outcome="found"\} 1\n/);
    assert.match(first, /\nstafette_tls_sessions_total\{policy_type="sts",result="success"\} 1\n/);
    assert.equal(host.fetches, 1);

    const second = await forwardThrough('mta-b', 'through b');
    assert.match(second, /\nstafette_mta_sts_policy_lookups_total\{outcome="renewed"\} 1\n/);
    assert.doesNotMatch(second, /stafette_mta_sts_policy_lookups_total\{outcome="found"\}/);
    assert.match(second, /\nstafette_tls_sessions_total\{policy_type="sts",result="success"\} 1\n/);
    assert.equal(host.fetches, 1, 'the second process fetched nothing');
  });
});
