// The chart as users run it, on a real node (test/harness/node/): `helm install` of
// charts/stafette with the image `make image` builds, NATS from the locally built
// nats-server image, both namespaces enforcing Pod Security "restricted". Then, through
// the cluster: every pod Ready; an MTA greets on its Service (NodePort on 127.0.0.1) and
// answers /readyz on its pod IP; a Mailbox without delivery gets the chart's
// defaultDelivery (LMTP to a real Dovecot on the node's address); a Mailbox edit reaches
// every MTA pod through the kubelet's projected volume (the kubelet's syncFrequency is
// 10s here: the time is printed); a deleted MTA pod keeps serving through its preStop
// sleep and stops on SIGTERM through tini; without a defaultDelivery the Mailbox is
// reported instead. Tear-down must leave the machine as it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startDovecot, type Dovecot } from '../harness/dovecot.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { waitFor } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { startRealNode, type RealNode } from '../harness/node/real-node.ts';
import { helm as helmOn, listPods, restrictedNamespace as restrictNamespace, waitPodsReady, type Pod } from '../harness/node/workloads.ts';
import { localChartInstall } from './chart-release.ts';
import { rcptTranscript as rcpt } from './live-probes.ts';
import { natsManifests } from './nats.ts';

const NS = 'mail';
const RELEASE = 'stafette';
const MTA = `${RELEASE}-mta`;
const DOMAIN = 'node.test';
const MX_NODE_PORT = 30025;
const SYNC_FREQUENCY = '10s';
const minute = 60_000;

function resources(extraAliases: string[] = []): string {
  return [
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'MailDomain',
      metadata: { name: 'node-test', namespace: NS },
      spec: {
        domain: DOMAIN,
        hostname: `mx.${DOMAIN}`,
        dkim: { selector: 's1', algorithm: 'ed25519' },
        inbound: { aliases: [{ name: 'postmaster', to: [`bob@${DOMAIN}`] }] },
      },
    },
    // No delivery: the chart's defaultDelivery (LMTP to Dovecot) takes it.
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'Mailbox',
      metadata: { name: 'bob', namespace: NS },
      spec: { address: `bob@${DOMAIN}`, ...(extraAliases.length > 0 ? { aliases: extraAliases } : {}) },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

describe('the Helm chart on a real node', { timeout: 20 * minute }, () => {
  let node: RealNode;
  let dovecot: Dovecot;
  let mtaPods: Pod[] = [];

  const pods = (namespace: string, selector?: string) => listPods(node, namespace, selector);
  const helm = (args: string[]) => helmOn(node, args);
  const restrictedNamespace = (name: string) => restrictNamespace(node, name);

  before(
    async () => {
      node = await startRealNode({ syncFrequency: SYNC_FREQUENCY, log: (line) => console.log(line) });
      console.log(
        `real node: Node Ready in ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s from the start, CoreDNS in ${(node.timings.dnsReadyMs / 1000).toFixed(1)} s (image import ${(node.timings.imageImportMs / 1000).toFixed(1)} s)`,
      );
      // Dovecot on the node's own address: the pods reach the host through their bridge.
      dovecot = await startDovecot([{ address: `bob@${DOMAIN}`, password: 'bob-secret' }], { host: node.nodeIp });

      const installing = Date.now();
      await restrictedNamespace('nats');
      await node.ok(['apply', '-f', '-'], { input: natsManifests({ namespace: 'nats', image: node.images.natsServer }) });
      await restrictedNamespace(NS);
      await helm(
        localChartInstall({
          release: RELEASE,
          namespace: NS,
          image: node.images.stafette,
          lmtp: { host: node.nodeIp, port: dovecot.lmtpPort },
          set: [`service.type=NodePort,service.nodePorts.mx=${MX_NODE_PORT}`],
        }),
      );
      await node.ok(['apply', '--server-side', '-f', '-'], { input: resources() });
      for (const ns of ['kube-system', 'nats', NS]) await waitPodsReady(node, ns, { timeoutMs: 4 * minute });
      mtaPods = await pods(NS, 'app.kubernetes.io/component=mta');
      console.log(`real node: NATS and the chart installed, every pod Ready in ${((Date.now() - installing) / 1000).toFixed(1)} s`);
      const memory = node.memory();
      console.log(
        `real node: memory with the chart installed (PSS, MiB): ${Object.entries(memory)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    },
    { timeout: 15 * minute },
  );

  after(
    async () => {
      await dovecot?.stop();
      if (!node) return;
      const stopping = Date.now();
      const left = await node.stop();
      console.log(`real node: taken down in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
      assert.deepEqual(left, [], 'the machine is not as it was before the node started');
    },
    { timeout: 3 * minute },
  );

  test('every pod of the install is Ready, in namespaces that enforce Pod Security "restricted"', async () => {
    assert.equal(mtaPods.length, 2);
    const operator = await pods(NS, 'app.kubernetes.io/component=operator');
    assert.equal(operator.length, 1);
    for (const ns of ['nats', NS]) {
      const labels = JSON.parse(await node.ok(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
    }
    for (const p of [...mtaPods, ...operator]) assert.equal(p.status.containerStatuses?.[0]?.restartCount, 0, `${p.metadata.name} restarted`);
  });

  test('an MTA greets on its Service through the NodePort on 127.0.0.1, and each MTA pod answers SMTP and /readyz on its pod IP', async () => {
    const { log } = await playTranscript({ host: '127.0.0.1', port: MX_NODE_PORT }, rcpt(`bob@${DOMAIN}`, '250 *'));
    assert.match(log[0] ?? '', /^S: 220 mx\.node\.test /);
    for (const p of mtaPods) {
      await playTranscript({ host: p.status.podIP!, port: 2525 }, rcpt(`bob@${DOMAIN}`, '250 *'));
      const res = await fetch(`http://${p.status.podIP}:9090/readyz`, { signal: AbortSignal.timeout(5_000) });
      assert.equal(res.status, 200, `${p.metadata.name} /readyz`);
    }
  });

  test("a Mailbox without delivery is delivered by LMTP to the chart's defaultDelivery (Dovecot on the node)", async () => {
    const id = `node-${Date.now()}`;
    await playTranscript(
      { host: '127.0.0.1', port: MX_NODE_PORT },
      `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<someone@elsewhere.test>
s: 250 *
c: RCPT TO:<bob@${DOMAIN}>
s: 250 *
c: DATA
s: 354 *
c: From: someone@elsewhere.test
c: To: bob@${DOMAIN}
c: Subject: through the pods
c: Message-ID: <${id}@elsewhere.test>
c:
c: hello from outside the cluster
c: .
s: 250 *
c: QUIT
s: 221 *`,
    );
    const maildir = join(dovecot.maildir(`bob@${DOMAIN}`), 'new');
    const delivered = await waitFor(
      "the message in bob's Dovecot maildir",
      () => {
        let files: string[];
        try {
          files = readdirSync(maildir);
        } catch {
          return undefined;
        }
        return files.map((f) => readFileSync(join(maildir, f), 'utf8')).find((m) => m.includes(id));
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.match(delivered, /hello from outside the cluster/);
  });

  test("a Mailbox edit reaches every MTA pod through the kubelet's projected-volume update", async (t) => {
    const alias = `robert@${DOMAIN}`;
    for (const p of mtaPods) await playTranscript({ host: p.status.podIP!, port: 2525 }, rcpt(alias, '550 5.1.1 *'));
    const revisionNow = () =>
      node.ok(['get', 'configmap', 'stafette-bundle', '-n', NS, '-o', 'jsonpath={.metadata.annotations.stafette\\.dev/bundle-revision}']);
    const before = await revisionNow();
    const edited = Date.now();
    await node.ok(['apply', '--server-side', '-f', '-'], { input: resources([alias]) });
    const written = await waitFor('the operator to write the new bundle', async () => ((await revisionNow()) !== before ? Date.now() : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const seen = await Promise.all(
      mtaPods.map(async (p) =>
        waitFor(
          `${p.metadata.name} to accept ${alias}`,
          async () => {
            try {
              await playTranscript({ host: p.status.podIP!, port: 2525, timeoutMs: 5_000 }, rcpt(alias, '250 *'));
              return Date.now();
            } catch {
              return undefined;
            }
          },
          { timeoutMs: 2 * minute, intervalMs: 250 },
        ),
      ),
    );
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const line =
      `projected-volume propagation (kubelet syncFrequency ${SYNC_FREQUENCY}): bundle written ${s(written - edited)} after the apply; ` +
      mtaPods.map((p, i) => `${p.metadata.name} accepts the new alias ${s(seen[i]! - edited)} after the apply`).join(', ');
    t.diagnostic(line);
    console.log(line);
  });

  test('the MTA container runs tini as PID 1, node under it, as uid 10001 on a read-only root filesystem', async () => {
    const id = mtaPods[0]!.status.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, '');
    assert.ok(id, 'no container ID');
    const pid = await node.containerPid(id);
    const cmdline = (p: number) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(cmdline(pid).slice(0, 4), ['/usr/bin/tini', '-g', '--', '/usr/local/bin/stafette']);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1);
    assert.deepEqual(cmdline(children[0]!).slice(0, 3), ['/usr/local/bin/node', '/usr/local/bin/stafette', 'mta']);
    assert.match(readFileSync(`/proc/${children[0]}/status`, 'utf8'), /^Uid:\s+10001\s/m);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/');
    assert.match(rootMount ?? '', /\sro[,\s]/, `root filesystem not read-only: ${rootMount}`);
  });

  test('a deleted MTA pod keeps serving during its preStop sleep, then stops in order on SIGTERM', async (t) => {
    const victim = mtaPods[1]!;
    const ip = victim.status.podIP!;
    const logs = spawn(node.kubectl, ['--kubeconfig', node.kubeconfig, '--cache-dir', node.cacheDir, 'logs', '-f', '-n', NS, victim.metadata.name]);
    let logText = '';
    logs.stdout.on('data', (d: Buffer) => {
      logText += d.toString();
    });
    const logsEnded = new Promise<void>((resolve) => logs.on('close', () => resolve()));
    await waitFor('the log stream', () => logText.includes('MTA started'), { timeoutMs: 30_000 });
    const deleted = Date.now();
    await node.ok(['delete', 'pod', '-n', NS, victim.metadata.name, '--wait=false']);
    // The Service stops sending new connections to it...
    await waitFor(
      'the endpoint to be taken out of the Service',
      async () => {
        const slices = JSON.parse(await node.ok(['get', 'endpointslices', '-n', NS, '-l', `kubernetes.io/service-name=${MTA}`, '-o', 'json'])) as {
          items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean; terminating?: boolean } }[] }[];
        };
        const endpoint = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.addresses.includes(ip));
        return endpoint === undefined || (endpoint.conditions?.ready === false && endpoint.conditions.terminating === true);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    // ...while the pod itself still serves whoever is already on the way (preStop sleep).
    await playTranscript({ host: ip, port: 2525 }, rcpt(`bob@${DOMAIN}`, '250 *'));
    const servedAfter = Date.now() - deleted;
    await Promise.race([logsEnded, sleep(2 * minute)]);
    const gone = Date.now() - deleted;
    const lines = logText
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; reason?: string; time?: string };
        } catch {
          return {};
        }
      });
    const shutdown = lines.find((l) => l.msg === 'shutting down');
    assert.equal(shutdown?.reason, 'SIGTERM', `no orderly shutdown on SIGTERM in the pod's log:\n${logText.slice(-2000)}`);
    assert.ok(
      lines.some((l) => l.msg === 'stopped'),
      'the MTA did not log that it stopped',
    );
    const line = `preStop/SIGTERM: SMTP served ${(servedAfter / 1000).toFixed(1)} s after the delete; SIGTERM logged, MTA stopped and the log ended ${(gone / 1000).toFixed(1)} s after it (preStop sleep 10 s, grace period 90 s)`;
    t.diagnostic(line);
    console.log(line);
    logs.kill();
  });

  test('without a defaultDelivery, a Mailbox without delivery is reported on its status and its mail refused, not queued', async () => {
    await helm(['upgrade', RELEASE, join(REPO_ROOT, 'charts/stafette'), '-n', NS, '--reuse-values', '--set', 'defaultDelivery.lmtp.host=']);
    await node.ok(['wait', '-n', NS, '--for=jsonpath={.status.conditions[?(@.type=="Ready")].reason}=NoDeliveryTarget', 'mailbox/bob', '--timeout=120s'], {
      timeoutMs: 130_000,
    });
    const message = await node.ok(['get', 'mailbox', 'bob', '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].message}']);
    assert.match(message, /defaultDelivery/);
    await waitFor(
      'the MTA pods to refuse bob@',
      async () => {
        try {
          await playTranscript({ host: '127.0.0.1', port: MX_NODE_PORT, timeoutMs: 5_000 }, rcpt(`bob@${DOMAIN}`, '550 5.1.1 *'));
          return true;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 2 * minute, intervalMs: 500 },
    );
  });
});
