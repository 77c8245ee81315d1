// Configuration changes reach every MTA pod live (issue 11 item 4), on a real node
// (test/harness/node/) with the chart installed as test/node/chart-on-node.test.ts does:
//   - a new Mailbox: every pod accepts mail to it, and the mail lands in Dovecot;
//   - a removed alias: every pod answers 550 5.1.1 for it;
//   - a rotated DKIM key (the MailDomain's dkim.selector changed, the rotation the product
//     does: docs/architecture.md §4, operator/src/dkim/rotation.ts): mail submitted through
//     each pod is signed with the new selector only and verifies with dkimpy against the new
//     record alone, and every pod's delivery workers sign with it;
//   - a renewed certificate (the TLS Secret's content replaced in place, as cert-manager does
//     at renewal): every pod's STARTTLS presents the new certificate, with SNI and without.
// No pod restarts or is replaced (same pods, restartCount unchanged). Each change is timed
// from the `kubectl apply`: the operator's bundle write (the ConfigMap read back), the
// kubelet's swap of the pod's projected volume (the `..data` symlink under the kubelet's
// pod directory), the MTA applying it (stafette_config_bundle_info on the pod) and the new
// behaviour seen on the pod. The kubelet's syncFrequency is 10 s here, as in
// chart-on-node.test.ts; the figures are in docs/architecture.md §5 "How fast a change
// reaches the pods". Timings are printed, never asserted.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { Bundle } from '../../bundle/schema.ts';
import { generateSelfSignedCertificate, type TlsMaterial } from '../../mta/src/smtp/index.ts';
import { startDnsServer } from '../harness/dns-server.ts';
import { startDovecot, type Dovecot } from '../harness/dovecot.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { startRealNode, type RealNode } from '../harness/node/real-node.ts';
import { helm, listPods, restrictedNamespace, waitPodsReady, type Pod } from '../harness/node/workloads.ts';
import { waitFor } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { txtText } from '../e2e/mail-through-pods.ts';
import { localChartInstall } from './chart-release.ts';
import { answers, inForce, MX_PORT, run, servedCertificate, volumeSwappedAt } from './live-probes.ts';
import { natsManifests } from './nats.ts';

const NS = 'mail';
const RELEASE = 'stafette';
const MTA_SELECTOR = 'app.kubernetes.io/component=mta';
const DOMAIN = 'node.test';
const HOSTNAME = `mx.${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const BOB_PASSWORD = 'bob-secret';
const ALICE = `alice@${DOMAIN}`;
const ALIAS = `sales@${DOMAIN}`;
const TLS_SECRET = 'mx-tls';
// As chart-on-node.test.ts; STAFETTE_NODE_SYNC_FREQUENCY (as for `make kube-node`) times another.
const SYNC_FREQUENCY = process.env.STAFETTE_NODE_SYNC_FREQUENCY ?? '10s';
const SUBMISSION_PORT = 2587;
const minute = 60_000;

interface Spec {
  /** The domain alias sales@ → bob@, until it is removed. */
  alias: boolean;
  selector: string;
  /** alice@, once added. */
  alice: boolean;
}

function resources(s: Spec): string {
  return [
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'MailDomain',
      metadata: { name: 'node-test', namespace: NS },
      spec: {
        domain: DOMAIN,
        hostname: HOSTNAME,
        dkim: { selector: s.selector, algorithm: 'ed25519' },
        tls: { secretName: TLS_SECRET },
        inbound: { aliases: [{ name: 'postmaster', to: [BOB] }, ...(s.alias ? [{ name: 'sales', to: [BOB] }] : [])] },
      },
    },
    // The operator reads only Secrets labelled for their use (docs/trust-model.md).
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bob-password', namespace: NS, labels: { 'stafette.dev/secret-use': 'password' } },
      stringData: { password: BOB_PASSWORD },
    },
    // No delivery: the chart's defaultDelivery (LMTP to Dovecot) takes them.
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'Mailbox',
      metadata: { name: 'bob', namespace: NS },
      spec: { address: BOB, passwordSecretRef: { name: 'bob-password' } },
    },
    ...(s.alice ? [{ apiVersion: 'stafette.dev/v1alpha1', kind: 'Mailbox', metadata: { name: 'alice', namespace: NS }, spec: { address: ALICE } }] : []),
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

/** The TLS Secret as cert-manager writes it (type kubernetes.io/tls), labelled for the operator. */
function tlsSecret(tls: TlsMaterial): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: TLS_SECRET, namespace: NS, labels: { 'stafette.dev/secret-use': 'tls' } },
    stringData: { 'tls.crt': tls.certPem, 'tls.key': tls.keyPem },
  });
}

function message(o: { from: string; to: string; id: string }): Buffer {
  return Buffer.from(
    [
      `From: <${o.from}>`,
      `To: <${o.to}>`,
      `Subject: live configuration ${o.id}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${o.id}@${DOMAIN}>`,
      `X-Live-Id: ${o.id}`,
      '',
      `id ${o.id}`,
      '',
    ].join('\r\n'),
  );
}

const s = (t: number) => `${(t / 1000).toFixed(1)} s`;
const ms = (t: number) => `${Math.round(t)} ms`;

describe('configuration changes reach every MTA pod live, on a real node', { timeout: 25 * minute }, () => {
  let node: RealNode;
  let dovecot: Dovecot;
  let scratch: string;
  let mtaPods: Pod[] = [];
  let spec: Spec = { alias: true, selector: 's1', alice: false };
  let certificate: TlsMaterial;

  const apply = (yaml: string) => node.ok(['apply', '--server-side', '-f', '-'], { input: yaml });

  /** The bundle the operator last wrote, read back from its ConfigMap. */
  async function writtenBundle(): Promise<Bundle> {
    const cm = JSON.parse(await node.ok(['get', 'configmap', 'stafette-bundle', '-n', NS, '-o', 'json'])) as { binaryData: Record<string, string> };
    return JSON.parse(gunzipSync(Buffer.from(cm.binaryData['bundle.json.gz']!, 'base64')).toString('utf8')) as Bundle;
  }

  /** When the pod's MTA logged that it applied `revision` (its own clock, the node's). */
  async function appliedLogged(pod: Pod, revision: string): Promise<number> {
    const logs = await node.ok(['logs', '-n', NS, pod.metadata.name]);
    for (const l of logs.split('\n')) {
      if (!l.includes(revision)) continue;
      let entry: { msg?: string; revision?: string; time?: string };
      try {
        entry = JSON.parse(l) as typeof entry;
      } catch {
        continue;
      }
      if (entry.msg === 'configuration bundle applied' && entry.revision === revision) return Date.parse(entry.time!);
    }
    throw new Error(`${pod.metadata.name} logged no "configuration bundle applied" for ${revision}`);
  }

  /** The message with this id in a Dovecot maildir, once delivered. */
  function delivered(address: string, id: string): string | undefined {
    const dir = join(dovecot.maildir(address), 'new');
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return undefined;
    }
    return files.map((f) => readFileSync(join(dir, f), 'latin1')).find((m) => m.includes(`X-Live-Id: ${id}\n`) || m.includes(`X-Live-Id: ${id}\r\n`));
  }

  /**
   * Applies a change and times it: the operator's bundle write (the first bundle read back
   * for which `written` holds), then on every pod in parallel the revision in force and the
   * new behaviour (`behaves`, polled), then the kubelet's volume swap. Prints one line.
   */
  async function timeChange(
    name: string,
    change: () => Promise<unknown>,
    written: (b: Bundle) => boolean,
    behaves: ((p: Pod) => Promise<boolean>) | null,
  ): Promise<{ revision: string; line: string }> {
    const before = (await writtenBundle()).revision;
    const applied = Date.now();
    await change();
    const { at: writtenAt, revision } = await waitFor(
      `the operator to write the bundle for: ${name}`,
      async () => {
        const b = await writtenBundle();
        return b.revision !== before && written(b) ? { at: Date.now(), revision: b.revision } : undefined;
      },
      { timeoutMs: 2 * minute, intervalMs: 200 },
    );
    const perPod = await Promise.all(
      mtaPods.map(async (p) => {
        const [inForceAt, seenAt] = await Promise.all([
          waitFor(`${p.metadata.name} to have revision ${revision} in force`, async () => ((await inForce(p, revision)) ? Date.now() : undefined), {
            timeoutMs: 3 * minute,
            intervalMs: 200,
          }),
          behaves &&
            waitFor(`${p.metadata.name} to show: ${name}`, async () => ((await behaves(p)) ? Date.now() : undefined), {
              timeoutMs: 3 * minute,
              intervalMs: 250,
            }),
        ]);
        const swappedAt = volumeSwappedAt(p);
        const loggedAt = await appliedLogged(p, revision);
        return (
          `${p.metadata.name}: volume swapped ${s(swappedAt - applied)}, applied ${s(loggedAt - applied)} (the MTA's part ${ms(loggedAt - swappedAt)}), ` +
          `in force on /metrics ${s(inForceAt - applied)}` +
          (seenAt ? `, new behaviour ${s(seenAt - applied)}` : '')
        );
      }),
    );
    const line = `live ${name} (kubelet syncFrequency ${SYNC_FREQUENCY}): bundle written ${s(writtenAt - applied)} after the apply; ${perPod.join('; ')}`;
    return { revision, line };
  }

  before(
    async () => {
      node = await startRealNode({ syncFrequency: SYNC_FREQUENCY, log: (line) => console.log(line) });
      scratch = mkdtempSync(join(tmpdir(), 'stafette-live-'));
      // Dovecot on the node's own address: the pods reach the host through their bridge.
      dovecot = await startDovecot(
        [
          { address: BOB, password: BOB_PASSWORD },
          { address: ALICE, password: 'alice-secret' },
        ],
        { host: node.nodeIp },
      );
      await restrictedNamespace(node, 'nats');
      await node.ok(['apply', '-f', '-'], { input: natsManifests({ namespace: 'nats', image: node.images.natsServer }) });
      await restrictedNamespace(node, NS);
      await helm(
        node,
        localChartInstall({
          release: RELEASE,
          namespace: NS,
          image: node.images.stafette,
          lmtp: { host: node.nodeIp, port: dovecot.lmtpPort },
          // Every probe comes from the node's address: the per-address limits (120 connections
          // a minute) would meter the polling as one sender.
          set: ['mta.sharedLimits.connectionsPerIpPerMinute=100000,mta.sharedLimits.messagesPerIpPerMinute=100000'],
        }),
      );
      certificate = await generateSelfSignedCertificate([HOSTNAME]);
      await apply(tlsSecret(certificate));
      await apply(resources(spec));
      for (const what of ['maildomain/node-test', 'mailbox/bob']) {
        await node.ok(['wait', '-n', NS, '--for=condition=Ready', what, '--timeout=180s'], { timeoutMs: 190_000 });
      }
      for (const ns of ['kube-system', 'nats', NS]) await waitPodsReady(node, ns, { timeoutMs: 4 * minute });
      mtaPods = await listPods(node, NS, MTA_SELECTOR);
      assert.equal(mtaPods.length, 2);
      const revision = (await writtenBundle()).revision;
      for (const p of mtaPods)
        await waitFor(`${p.metadata.name} to have the first bundle`, () => inForce(p, revision), { timeoutMs: 2 * minute, intervalMs: 500 });
    },
    { timeout: 15 * minute },
  );

  after(
    async () => {
      await dovecot?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      if (!node) return;
      const left = await node.stop();
      assert.deepEqual(left, [], 'the machine is not as it was before the node started');
    },
    { timeout: 3 * minute },
  );

  test('a new Mailbox: every pod accepts mail to it, and the mail is delivered', async (t) => {
    for (const p of mtaPods) assert.ok(await answers(p, ALICE, '550 5.1.1 *'), `${p.metadata.name} already knows ${ALICE}`);
    spec = { ...spec, alice: true };
    const { line } = await timeChange(
      'new Mailbox',
      () => apply(resources(spec)),
      (b) => b.mailboxes.some((m) => m.address === ALICE),
      (p) => answers(p, ALICE, '250 *'),
    );
    console.log(line);
    t.diagnostic(line);
    for (const [i, p] of mtaPods.entries()) {
      const id = `alice-${i}-${Date.now()}`;
      const reply = await sendMessage({
        host: p.status.podIP!,
        port: MX_PORT,
        from: 'someone@elsewhere.test',
        to: [ALICE],
        message: message({ from: 'someone@elsewhere.test', to: ALICE, id }),
      });
      assert.match(reply, /^250 /, `${p.metadata.name}: ${reply}`);
      await waitFor(`the message through ${p.metadata.name} in alice's maildir`, () => delivered(ALICE, id), { timeoutMs: minute, intervalMs: 250 });
    }
  });

  test('a removed alias: every pod answers 550 5.1.1 for it', async (t) => {
    for (const p of mtaPods) assert.ok(await answers(p, ALIAS, '250 *'), `${p.metadata.name} does not accept ${ALIAS} before the change`);
    spec = { ...spec, alias: false };
    const { line } = await timeChange(
      'removed alias',
      () => apply(resources(spec)),
      (b) => !b.aliases.some((a) => a.address === ALIAS),
      (p) => answers(p, ALIAS, '550 5.1.1 *'),
    );
    console.log(line);
    t.diagnostic(line);
  });

  test('a rotated DKIM key: mail through every pod is signed with the new selector only and verifies with dkimpy against the new record', async (t) => {
    /** Submits through each pod (STARTTLS + AUTH) to bob@, and returns the delivered messages. */
    const submitThroughEach = async (tag: string): Promise<string[]> =>
      Promise.all(
        mtaPods.map(async (p, i) => {
          const id = `${tag}-${i}-${Date.now()}`;
          const reply = await sendMessage({
            host: p.status.podIP!,
            port: SUBMISSION_PORT,
            requireTls: true,
            auth: { user: BOB, pass: BOB_PASSWORD },
            from: BOB,
            to: [BOB],
            message: message({ from: BOB, to: BOB, id }),
          });
          assert.match(reply, /^250 /, `${p.metadata.name}: ${reply}`);
          return waitFor(`the message submitted through ${p.metadata.name} in bob's maildir`, () => delivered(BOB, id), { timeoutMs: minute, intervalMs: 250 });
        }),
      );
    /** dkimpy's verdict per signature ("<d> <s> pass|fail"), with only `selector`'s published record in its DNS. */
    const verify = async (messages: readonly string[], selector: string): Promise<string[]> => {
      const records = JSON.parse(await node.ok(['get', 'maildomain', 'node-test', '-n', NS, '-o', 'jsonpath={.status.dnsRecords}'])) as {
        name: string;
        value: string;
        purpose?: string;
      }[];
      const name = `${selector}._domainkey.${DOMAIN}`;
      const record = records.find((r) => r.purpose === 'DKIM' && r.name === name);
      assert.ok(record, `status.dnsRecords has no DKIM record ${name}`);
      const dns = await startDnsServer({ local: [DOMAIN], txt: { [name]: txtText(record.value) } }, { logDir: scratch });
      try {
        const verdicts: string[] = [];
        for (const m of messages) {
          // Dovecot writes LF line ends; the message travelled with CRLF.
          const r = await run(
            '/usr/bin/python3',
            [join(REPO_ROOT, 'test/transports/dkim-verify.py'), dns.address],
            Buffer.from(m.replace(/\r?\n/g, '\r\n'), 'latin1'),
          );
          verdicts.push(r.stdout.trim() || r.stderr.trim());
        }
        return verdicts;
      } finally {
        await dns.stop();
      }
    };
    /** The pod whose delivery worker handed the message to Dovecot: the address in Dovecot's Received field. */
    const deliveredBy = (m: string) => {
      const ip = /^Received: from [^\n]*\n?[^\n]*\[(\d+\.\d+\.\d+\.\d+)\]/m.exec(m)?.[1];
      return mtaPods.find((p) => p.status.podIP === ip)?.metadata.name ?? `unknown (${ip})`;
    };

    assert.deepEqual(await verify(await submitThroughEach('before-rotation'), 's1'), [`${DOMAIN} s1 pass`, `${DOMAIN} s1 pass`]);
    spec = { ...spec, selector: 's2' };
    const { revision, line } = await timeChange(
      'rotated DKIM key',
      () => apply(resources(spec)),
      (b) => JSON.stringify(b.domains.find((d) => d.domain === DOMAIN)?.dkim.signing) === '["s2"]',
      // Signing happens at delivery, by whichever pod's worker takes the job: the signed
      // mail is checked below, once every pod has the new revision in force.
      null,
    );
    // Every pod signs with the new key, and only with it: mail through each pod until each
    // pod's delivery workers have delivered some of it (bounded). Which pod's worker takes a
    // job is JetStream's choice among the waiting pulls, and one pod can win 20 in a row, so
    // the bound is 25 rounds (50 messages), not 10.
    const signedBy = new Map<string, number>();
    for (let round = 0; round < 25 && !mtaPods.every((p) => signedBy.has(p.metadata.name)); round++) {
      const messages = await submitThroughEach(`after-rotation-${round}`);
      const verdicts = await verify(messages, 's2');
      for (const [i, m] of messages.entries()) {
        // One line: exactly one signature, by the new selector, and it verifies.
        assert.equal(verdicts[i], `${DOMAIN} s2 pass`, `mail delivered by ${deliveredBy(m)} after revision ${revision}`);
        signedBy.set(deliveredBy(m), (signedBy.get(deliveredBy(m)) ?? 0) + 1);
      }
    }
    for (const p of mtaPods)
      assert.ok(signedBy.has(p.metadata.name), `${p.metadata.name} delivered none of the mail (delivered by: ${[...signedBy.keys()].join(', ')})`);
    const signing = `${line}; then signed with s2 only and verified (dkimpy, the s2 record alone): ${[...signedBy].map(([pod, n]) => `${n} delivered by ${pod}`).join(', ')}`;
    console.log(signing);
    t.diagnostic(signing);
  });

  test('a renewed certificate: every pod presents the new one on STARTTLS, with SNI and without', async (t) => {
    const old = new X509Certificate(certificate.certPem).fingerprint256;
    for (const p of mtaPods) {
      assert.equal(await servedCertificate(p, HOSTNAME), old, `${p.metadata.name} with SNI`);
      assert.equal(await servedCertificate(p), old, `${p.metadata.name} without SNI`);
    }
    certificate = await generateSelfSignedCertificate([HOSTNAME]);
    const renewed = new X509Certificate(certificate.certPem).fingerprint256;
    assert.notEqual(renewed, old);
    const { line } = await timeChange(
      'renewed certificate',
      () => apply(tlsSecret(certificate)),
      () => true,
      async (p) => (await servedCertificate(p, HOSTNAME)) === renewed && (await servedCertificate(p)) === renewed,
    );
    console.log(line);
    t.diagnostic(line);
  });

  test('no MTA pod restarted or was replaced', async () => {
    const now = await listPods(node, NS, MTA_SELECTOR);
    assert.deepEqual(
      now.map((p) => [p.metadata.uid, p.status.containerStatuses?.map((c) => c.restartCount)]).sort(),
      mtaPods.map((p) => [p.metadata.uid, p.status.containerStatuses?.map((c) => c.restartCount)]).sort(),
    );
    for (const p of now)
      assert.deepEqual(
        p.status.containerStatuses?.map((c) => c.restartCount),
        [0],
        `${p.metadata.name} restarted`,
      );
  });
});
