// Issue 11 item 2, "Mail through the pods", from outside the cluster, on the install of
// install.ts (registered inside scenarios.e2e.ts so one `npm run e2e` installs once):
//   (a) MX mail to the Mailbox lands in Dovecot and is read back over IMAP (imaplib);
//   (b) submission with STARTTLS + AUTH (the Mailbox's password Secret) to an address at
//       REMOTE_DOMAIN reaches its MX, an smtp-sink on the node's address on port 25 that
//       the pods find through DNS (CoreDNS forwards the zone to the test's dnsmasq), and
//       dkimpy verifies the DKIM signature with the key the same DNS serves;
//   (c) a relay-routed domain goes through the Relay to its smarthost (install.ts's sink);
//   (d) status.dnsRecords of the MailDomain, published in the test's DNS as a user would
//       publish them, are what the cluster DNS answers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDnsServer, type DnsServer, type Zone } from '../harness/dns-server.ts';
import { DNS_SERVICE_IP, NODE_IP } from '../harness/node/layout.ts';
import { waitFor } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import {
  DOMAIN,
  MAILBOX,
  MAILBOX_PASSWORD,
  MX_NODE_PORT,
  NS,
  RELAY_DOMAIN,
  REMOTE_DOMAIN,
  SUBMISSION_NODE_PORT,
  TEST_DNS_PORT,
  TEST_ZONES,
  type E2eInstall,
} from './install.ts';

interface PublishedRecord {
  readonly name: string;
  readonly type: string;
  readonly value: string;
  readonly purpose?: string;
}

/** The text of a zone-file TXT value: its quoted character-strings, joined. */
export function txtText(value: string): string {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')).join('');
}

/**
 * The test's zone: the MailDomain's records as published (plus the address of its MX
 * host, which only the user knows), and REMOTE_DOMAIN with its MX on the node's address.
 */
export function testZone(published: readonly PublishedRecord[], mxHostIp: string): Zone {
  const mx: Record<string, { exchange: string; priority: number }[]> = { [REMOTE_DOMAIN]: [{ exchange: `mx.${REMOTE_DOMAIN}`, priority: 10 }] };
  const hosts: Record<string, string[]> = { [`mx.${REMOTE_DOMAIN}`]: [mxHostIp] };
  const txt: Record<string, string> = {};
  const cname: Record<string, string> = {};
  for (const r of published) {
    if (r.type === 'MX') {
      const [priority, exchange] = r.value.split(/\s+/);
      (mx[r.name] ??= []).push({ exchange: exchange!.replace(/\.$/, ''), priority: Number(priority) });
      hosts[exchange!.replace(/\.$/, '')] = [mxHostIp];
    } else if (r.type === 'TXT') {
      if (txt[r.name] !== undefined) throw new Error(`two TXT records at ${r.name}: the test's zone holds one per name`);
      txt[r.name] = txtText(r.value);
    } else if (r.type === 'CNAME') {
      cname[r.name] = r.value.replace(/\.$/, '');
    } else {
      throw new Error(`a ${r.type} record the test's zone cannot serve: ${r.name}`);
    }
  }
  return { local: [...TEST_ZONES], mx, hosts, txt, cname };
}

function run(command: string, args: readonly string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, [...args], { encoding: 'buffer', timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr: stderr.toString() }),
    );
    child.stdin!.end(input ?? Buffer.alloc(0));
  });
}

function message(o: { from: string; to: string; id: string; subject: string }): Buffer {
  const lines = [
    `From: <${o.from}>`,
    `To: <${o.to}>`,
    `Subject: ${o.subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${o.id}@${DOMAIN}>`,
    `X-E2E-Id: ${o.id}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${o.subject}, id ${o.id}.`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/** Header fields on one line each (RFC 5322 §2.2.3 unfolding). */
const unfold = (text: string) => text.replace(/\r?\n[ \t]+/g, ' ');
const clusterDns = `${DNS_SERVICE_IP}:53`;
const submission = { host: '127.0.0.1', port: SUBMISSION_NODE_PORT, requireTls: true, auth: { user: MAILBOX, pass: MAILBOX_PASSWORD } };

export function mailThroughPods(install: () => E2eInstall, runId: string): void {
  describe('mail through the pods, from outside the cluster', () => {
    let scratch: string;
    let dns: DnsServer | undefined;
    let remoteMx: SmtpSink | undefined;
    let published: PublishedRecord[] = [];

    before(async () => {
      const e2e = install();
      const json = await e2e.node.ok(['get', '-n', NS, 'maildomain/e2e-test', '-o', 'jsonpath={.status.dnsRecords}']);
      published = JSON.parse(json) as PublishedRecord[];
      scratch = mkdtempSync(join(tmpdir(), 'stafette-e2e-mail-'));
      // Port 25 on the node's address: the MTA delivers to MX hosts on 25 (remote-smtp.ts).
      remoteMx = await startSmtpSink({ host: NODE_IP, port: 25, behaviour: 'accept', dir: scratch, name: 'e2e-remote-mx' });
      dns = await startDnsServer(testZone(published, NODE_IP), { host: NODE_IP, port: TEST_DNS_PORT, logDir: scratch });
    });

    after(async () => {
      await dns?.stop();
      await remoteMx?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    test('(a) MX mail to the Mailbox lands in Dovecot and is read back over IMAP', async () => {
      const e2e = install();
      const id = `${runId}-imap`;
      const reply = await sendMessage({
        host: '127.0.0.1',
        port: MX_NODE_PORT,
        from: 'sender@elsewhere.test',
        to: [MAILBOX],
        message: message({ from: 'sender@elsewhere.test', to: MAILBOX, id, subject: 'Read me over IMAP' }),
      });
      assert.match(reply, /^250 /);
      const fetched = await waitFor(
        'the message in the IMAP INBOX',
        async () => {
          const r = await run('/usr/bin/python3', [
            join(import.meta.dirname, 'imap-fetch.py'),
            e2e.dovecot.host,
            String(e2e.dovecot.imapPort),
            MAILBOX,
            MAILBOX_PASSWORD,
            id,
          ]);
          return r.code === 0 ? r.stdout.toString('utf8') : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      );
      assert.match(fetched, /^Subject: Read me over IMAP\r?$/m);
      assert.match(fetched, new RegExp(`^X-E2E-Id: ${id}\\r?$`, 'm'));
      // The pod's own trace: the Received field it added, naming our hostname (unfolded).
      assert.match(unfold(fetched), new RegExp(`^Received: from .* by mx\\.${DOMAIN.replaceAll('.', '\\.')} \\(Stafette\\) with ESMTP `, 'm'));
      console.log(`e2e mail: MX (NodePort ${MX_NODE_PORT}) -> pods -> Dovecot LMTP: ${id} read back over IMAP with imaplib`);
    });

    test('(b) submission with STARTTLS + AUTH reaches the remote MX, found through DNS, DKIM-signed (dkimpy)', async () => {
      const id = `${runId}-submission`;
      const to = `carol@${REMOTE_DOMAIN}`;
      const reply = await sendMessage({
        ...submission,
        from: MAILBOX,
        to: [to],
        message: message({ from: MAILBOX, to, id, subject: 'Signed on the way out' }),
      });
      assert.match(reply, /^250 /);
      const dumped = await waitFor('the message at the remote MX', () => remoteMx!.messages().find((m) => m.includes(`X-E2E-Id: ${id}`)), {
        timeoutMs: 90_000,
        intervalMs: 1_000,
      });
      assert.match(dumped, new RegExp(`^X-Rcpt-Args: <${to}>`, 'm'));
      // The pod took it over TLS and authenticated (RFC 3848: ESMTPSA).
      assert.match(unfold(dumped), new RegExp(`^Received: from .* by mx\\.${DOMAIN.replaceAll('.', '\\.')} \\(Stafette\\) with ESMTPSA `, 'm'));
      // smtp-sink writes lines with LF; the message travelled with CRLF.
      const data = Buffer.from(dumped.replace(/\n/g, '\r\n'), 'latin1');
      const verified = await run('/usr/bin/python3', [join(import.meta.dirname, '../transports/dkim-verify.py'), clusterDns], data);
      assert.equal(verified.code, 0, `dkimpy: ${verified.stdout.toString()} ${verified.stderr}`);
      // One signature, by our domain, with a selector whose key status.dnsRecords published.
      const [signature, ...more] = verified.stdout.toString().trim().split('\n');
      assert.deepEqual(more, []);
      const [d, selector, result] = signature!.split(' ');
      assert.deepEqual([d, result], [DOMAIN, 'pass']);
      assert.ok(
        published.some((r) => r.purpose === 'DKIM' && r.name === `${selector}._domainkey.${DOMAIN}`),
        `selector ${selector} not published`,
      );
      console.log(`e2e mail: submission (STARTTLS + AUTH) -> pods -> MX of ${REMOTE_DOMAIN} found through the cluster DNS: dkimpy ${signature}`);
    });

    test('(c) a relay-routed domain goes through the Relay to its smarthost', async () => {
      const e2e = install();
      const id = `${runId}-relay`;
      const to = `dave@${RELAY_DOMAIN}`;
      const reply = await sendMessage({ ...submission, from: MAILBOX, to: [to], message: message({ from: MAILBOX, to, id, subject: 'Through the Relay' }) });
      assert.match(reply, /^250 /);
      await waitFor('the message at the Relay smarthost', () => e2e.relaySink.count(`X-E2E-Id: ${id}`) === 1, { timeoutMs: 90_000, intervalMs: 1_000 });
      assert.equal(remoteMx!.count(`X-E2E-Id: ${id}`), 0, 'relay-routed mail went to an MX instead');
      console.log(`e2e mail: submission -> pods -> Relay smarthost for ${RELAY_DOMAIN}: ${id} delivered`);
    });

    test('(d) status.dnsRecords are what the cluster DNS serves', async () => {
      assert.ok(published.length > 0, 'no status.dnsRecords');
      for (const purpose of ['MX', 'SPF', 'DKIM', 'DMARC'])
        assert.ok(
          published.some((r) => r.purpose === purpose),
          `no ${purpose} record in status.dnsRecords`,
        );
      const resolver = new Resolver({ timeout: 2_000, tries: 2 });
      resolver.setServers([clusterDns]);
      for (const r of published) {
        if (r.type === 'MX') {
          const [priority, exchange] = r.value.split(/\s+/);
          const answers = (await resolver.resolveMx(r.name)).map((a) => ({ priority: a.priority, exchange: a.exchange }));
          assert.deepEqual(answers, [{ priority: Number(priority), exchange: exchange!.replace(/\.$/, '') }], r.name);
        } else if (r.type === 'TXT') {
          assert.deepEqual(
            (await resolver.resolveTxt(r.name)).map((chunks) => chunks.join('')),
            [txtText(r.value)],
            r.name,
          );
        } else {
          assert.deepEqual(await resolver.resolveCname(r.name), [r.value.replace(/\.$/, '')], r.name);
        }
      }
      console.log(
        `e2e mail: the ${published.length} records of status.dnsRecords (${published.map((r) => r.purpose).join(', ')}) are what the cluster DNS serves`,
      );
    });
  });
}
