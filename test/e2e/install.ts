// The e2e install, as a user does it (issue 11 item 1; the README's "Install with Helm"),
// on the real node (test/harness/node/): `helm install` of charts/stafette with 3 MTA
// replicas, R3 queue streams, the operator and one NATS user per role
// (nats.roleUsers.enabled, as helm/production.yaml); the role-password Secret it generates
// copied into the NATS namespace; NATS as a 3-node JetStream cluster — a StatefulSet from
// the locally built nats-server image standing in for the official NATS chart with the
// values helm/nats-values.yaml gives it (3 replicas, file store with sync_interval always,
// one PersistentVolume per server, here static local PVs under the node's own directory;
// the role users' authorization block, passwords from that Secret) — then `kubectl apply`
// of a MailDomain, a Mailbox and a Relay, and `kubectl wait --for=condition=Ready` on each. Mailboxes deliver by LMTP to a real Dovecot
// on the node's address (the chart's defaultDelivery); the Relay points at an smtp-sink
// there. CoreDNS forwards the test's zones (TEST_ZONES) to a DNS server on the node's
// address at TEST_DNS_PORT, which mail-through-pods.ts starts once the MailDomain has
// published its records. stop() takes everything down and reports what differs from before.
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startDovecot, type Dovecot } from '../harness/dovecot.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { NODE_DIR, NODE_IP } from '../harness/node/layout.ts';
import { startRealNode, type RealNode } from '../harness/node/real-node.ts';
import { helm, restrictedNamespace, waitPodsReady } from '../harness/node/workloads.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { natsManifests, natsStaticVolumes } from '../node/nats.ts';

export const NS = 'mail';
export const NATS_NS = 'nats';
export const RELEASE = 'stafette';
export const MTA_DEPLOYMENT = `${RELEASE}-mta`;
export const MTA_SELECTOR = 'app.kubernetes.io/component=mta';
export const NATS_SELECTOR = 'app.kubernetes.io/name=nats';
/** The NATS role passwords the chart generates with nats.roleUsers.enabled (<release>-nats-users). */
export const NATS_USERS_SECRET = `${RELEASE}-nats-users`;
export const DOMAIN = 'e2e.test';
export const RELAY_DOMAIN = 'partner.e2e.test';
export const MAILBOX = `bob@${DOMAIN}`;
export const MAILBOX_PASSWORD = 'bob-secret';
/** A domain elsewhere, whose MX (an smtp-sink on the node's address) is found through DNS. */
export const REMOTE_DOMAIN = 'remote.test';
/** Zones CoreDNS forwards to the test's DNS server (ours, for its records; and the remote one). */
export const TEST_ZONES = [DOMAIN, REMOTE_DOMAIN] as const;
export const TEST_DNS_PORT = 10053;
export const MX_NODE_PORT = 30025;
export const SUBMISSION_NODE_PORT = 30587;
export const MTA_REPLICAS = 3;
export const NATS_REPLICAS = 3;
const NATS_UID = 65532;
const minute = 60_000;

export interface E2eInstall {
  readonly node: RealNode;
  readonly dovecot: Dovecot;
  readonly relaySink: SmtpSink;
  /** The chart's values as installed, for `helm upgrade --reuse-values`. */
  helm(args: readonly string[]): Promise<string>;
  readonly installMs: number;
  stop(): Promise<string[]>;
}

function resources(relayHost: string, relayPort: number): string {
  return [
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'MailDomain',
      metadata: { name: 'e2e-test', namespace: NS },
      spec: { domain: DOMAIN, hostname: `mx.${DOMAIN}`, dkim: { selector: 's1', algorithm: 'ed25519' } },
    },
    // The operator reads only Secrets labelled for their use (docs/trust-model.md).
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bob-password', namespace: NS, labels: { 'stafette.dev/secret-use': 'password' } },
      stringData: { password: MAILBOX_PASSWORD },
    },
    // No delivery: the chart's defaultDelivery (LMTP to Dovecot) takes it.
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'Mailbox',
      metadata: { name: 'bob', namespace: NS },
      spec: { address: MAILBOX, passwordSecretRef: { name: 'bob-password' } },
    },
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'Relay',
      metadata: { name: 'partner', namespace: NS },
      spec: { host: relayHost, port: relayPort, tls: 'none', insecurePlaintext: true, match: { recipientDomains: [RELAY_DOMAIN] } },
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

export async function installE2e(log: (line: string) => void): Promise<E2eInstall> {
  const forwardZones = Object.fromEntries(TEST_ZONES.map((zone) => [zone, `${NODE_IP}:${TEST_DNS_PORT}`]));
  const node = await startRealNode({ syncFrequency: '10s', forwardZones, log });
  const scratch = mkdtempSync(join(tmpdir(), 'stafette-e2e-'));
  let dovecot: Dovecot | undefined;
  let relaySink: SmtpSink | undefined;
  const stop = async () => {
    await dovecot?.stop();
    await relaySink?.stop();
    rmSync(scratch, { recursive: true, force: true });
    return node.stop();
  };
  try {
    log(`e2e: Node Ready in ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s, CoreDNS in ${(node.timings.dnsReadyMs / 1000).toFixed(1)} s from the start`);
    dovecot = await startDovecot([{ address: MAILBOX, password: MAILBOX_PASSWORD }], { host: node.nodeIp });
    relaySink = await startSmtpSink({ host: node.nodeIp, behaviour: 'accept', dir: scratch, name: 'e2e-relay' });

    const installing = Date.now();
    // The PVs' directories live under the node's directory, so its teardown removes them.
    const pvDir = join(NODE_DIR, 'e2e-nats-volumes');
    for (let i = 0; i < NATS_REPLICAS; i++) {
      mkdirSync(join(pvDir, `nats-${i}`), { recursive: true });
      chownSync(join(pvDir, `nats-${i}`), NATS_UID, NATS_UID);
    }
    const storage = { storageClassName: 'e2e-local', size: '10Gi' };
    await restrictedNamespace(node, NATS_NS);
    await node.ok(['apply', '-f', '-'], {
      input: natsStaticVolumes({ namespace: NATS_NS, replicas: NATS_REPLICAS, dir: pvDir, nodeName: node.nodeName, ...storage }),
    });

    // In the README's order ("Install with Helm"): the chart first, which generates the NATS
    // role passwords; their Secret copied into the NATS namespace; then NATS, whose servers
    // require the role users. The MTA pods wait for NATS meanwhile.
    await restrictedNamespace(node, NS);
    const [repository, tag] = node.images.stafette.split(/:(?=[^:]+$)/);
    const helmOn = (args: readonly string[]) => helm(node, args);
    await helmOn([
      'install',
      RELEASE,
      join(REPO_ROOT, 'charts/stafette'),
      '-n',
      NS,
      '--set',
      `image.repository=${repository},image.tag=${tag},image.pullPolicy=Never`,
      '--set',
      `mta.replicas=${MTA_REPLICAS}`,
      '--set',
      `nats.url=nats://nats.${NATS_NS}.svc.cluster.local:4222,nats.queueReplicas=${NATS_REPLICAS}`,
      // One NATS user per role, as helm/production.yaml (docs/trust-model.md §5).
      '--set',
      'nats.roleUsers.enabled=true',
      '--set',
      `defaultDelivery.lmtp.host=${node.nodeIp},defaultDelivery.lmtp.port=${dovecot.lmtpPort}`,
      '--set',
      `service.type=NodePort,service.nodePorts.mx=${MX_NODE_PORT},service.nodePorts.submission=${SUBMISSION_NODE_PORT}`,
      // Every test client reaches the MTA from the node's address (the NodePort's SNAT), so
      // the per-address limits (120 connections, 600 messages a minute) would meter the
      // whole load as one sender.
      '--set',
      'mta.sharedLimits.connectionsPerIpPerMinute=100000,mta.sharedLimits.messagesPerIpPerMinute=100000',
      // The test's DNS serves the records only after the MailDomain has published them.
      '--set',
      'operator.dkimPropagationDelaySeconds=0',
    ]);
    // The README's `kubectl get secret ... | jq '{apiVersion, kind, type, data, metadata: {name: .metadata.name}}' | kubectl apply -n nats -f -`.
    const users = JSON.parse(await node.ok(['get', 'secret', '-n', NS, NATS_USERS_SECRET, '-o', 'json'])) as {
      apiVersion: string;
      kind: string;
      type: string;
      data: Record<string, string>;
    };
    await node.ok(['apply', '-n', NATS_NS, '-f', '-'], {
      input: JSON.stringify({ apiVersion: users.apiVersion, kind: users.kind, type: users.type, data: users.data, metadata: { name: NATS_USERS_SECRET } }),
    });
    await node.ok(['apply', '-f', '-'], {
      input: natsManifests({
        namespace: NATS_NS,
        image: node.images.natsServer,
        replicas: NATS_REPLICAS,
        storage,
        roleUsers: { secretName: NATS_USERS_SECRET },
      }),
    });
    await waitPodsReady(node, NATS_NS, { timeoutMs: 4 * minute, count: NATS_REPLICAS });

    await node.ok(['apply', '--server-side', '-f', '-'], { input: resources(relaySink.host, relaySink.port) });
    for (const what of ['maildomain/e2e-test', 'mailbox/bob', 'relay/partner']) {
      await node.ok(['wait', '-n', NS, '--for=condition=Ready', what, '--timeout=180s'], { timeoutMs: 190_000 });
    }
    await waitPodsReady(node, NS, { timeoutMs: 4 * minute, selector: MTA_SELECTOR, count: MTA_REPLICAS });
    const installMs = Date.now() - installing;
    log(`e2e: NATS (3 nodes, R3, one user per role) and the chart (3 MTA pods) installed, resources Ready, in ${(installMs / 1000).toFixed(1)} s`);
    return { node, dovecot, relaySink, helm: helmOn, installMs, stop };
  } catch (err) {
    const problems = await stop();
    if (problems.length > 0) (err as Error).message += `\nand the machine is not as it was: ${problems.join('; ')}`;
    throw err;
  }
}
