// The chart's NetworkPolicies (charts/stafette/templates/networkpolicies.yaml), enforced on
// the real node by kube-router (test/harness/node/kube-router.ts) and checked claim by
// claim, each in both directions: what a policy lets through gets through, and what it
// claims to block is blocked while the same address and port answer a peer the policies
// allow (so "blocked" is the policy, not a closed port). Connections are made from inside
// the pods (`kubectl exec` of a small node script in the Stafette image) and from the
// machine, as MX mail arrives through the NodePort.
//
//   namespaces  mail (the chart), nats (NATS as users run it), monitoring (may scrape:
//               networkPolicy.metricsFrom), elsewhere (any other workload)
//   outside     198.51.100.1 (TEST-NET-2) on the node's bridge: an address outside the
//               chart's clusterCIDRs, where a real smtp-sink listens on 25 as a remote MX
//               would; the same smtp-sink on the node's own 10.244.0.1 is inside them
//
// Tear-down must leave the machine as it was (kube-router's chains and ipsets included).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startDovecot, type Dovecot } from '../harness/dovecot.ts';
import { waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { policyEnforced } from '../harness/node/kube-router.ts';
import { BRIDGE } from '../harness/node/layout.ts';
import { startRealNode, type RealNode } from '../harness/node/real-node.ts';
import { helm as helmOn, listPods, restrictedNamespace, waitPodsReady, type Pod } from '../harness/node/workloads.ts';
import { localChartInstall } from './chart-release.ts';
import { natsManifests } from './nats.ts';

const NS = 'mail';
const RELEASE = 'stafette';
const DOMAIN = 'netpol.test';
const MX_NODE_PORT = 30025;
/** CoreDNS on the node runs unprivileged on 1053 behind the Service's 53 (test/harness/node/coredns.ts). */
const CLUSTER_DNS_POD_PORT = 1053;
/** Outside the chart's clusterCIDRs: where the MTA may send mail. */
const OUTSIDE_IP = '198.51.100.1';
const PORTS = { mx: 2525, submission: 2587, ops: 9090, mtaSts: 8443, operatorHealth: 9091, nats: 4222, natsMonitor: 8222, probe: 4222 };
const minute = 60_000;

/** Connects to argv host:port from inside a pod; prints `open`, or the error (REJECT gives ECONNREFUSED). */
const CONNECT = `const [host, port] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: Number(port), timeout: 5000 });
s.on('connect', () => { console.log('open'); s.destroy(); });
s.on('timeout', () => { console.log('timeout'); s.destroy(); });
s.on('error', (e) => console.log(e.code || e.message));`;
/** Resolves argv name with the pod's resolver (cluster DNS); prints the address or the error. */
const RESOLVE = `const r = new (require('node:dns').promises.Resolver)({ timeout: 3000, tries: 1 });
r.setServers(require('node:fs').readFileSync('/etc/resolv.conf', 'utf8').match(/^nameserver\\s+(\\S+)/m).slice(1));
r.resolve4(process.argv[1]).then((a) => console.log(a.join(',')), (e) => console.log(e.code || e.message));`;
/** A probe pod: listens on PORTS.probe (so it can stand in for NATS) and otherwise only waits for exec. */
const LISTEN = `require('node:net').createServer((c) => c.end('probe\\r\\n')).listen(${PORTS.probe});`;

function probePod(namespace: string, name: string, image: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'stafette.test/probe': name, ...labels } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'probe',
          image,
          imagePullPolicy: 'Never',
          command: ['/usr/local/bin/node', '-e', LISTEN],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
        },
      ],
    },
  };
}

function resources(): string {
  return [
    {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'MailDomain',
      metadata: { name: 'netpol-test', namespace: NS },
      spec: { domain: DOMAIN, hostname: `mx.${DOMAIN}`, dkim: { selector: 's1', algorithm: 'ed25519' } },
    },
    { apiVersion: 'stafette.dev/v1alpha1', kind: 'Mailbox', metadata: { name: 'bob', namespace: NS }, spec: { address: `bob@${DOMAIN}` } },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

describe('the chart NetworkPolicies on a real node that enforces them', { timeout: 25 * minute }, () => {
  let node: RealNode;
  let dovecot: Dovecot;
  const sinks: SmtpSink[] = [];
  let sinkDir = '';
  let mta: Pod;
  let operator: Pod;
  let natsPod: Pod;
  const probes: Record<'monitoring' | 'elsewhere' | 'mail' | 'decoy', Pod> = {} as never;

  /** What a connection from `from` to host:port meets: 'open', or why not. */
  async function connect(from: Pod, host: string, port: number): Promise<string> {
    const r = await node.run(['exec', '-n', from.metadata.namespace, from.metadata.name, '--', '/usr/local/bin/node', '-e', CONNECT, host, String(port)], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `kubectl exec in ${from.metadata.name}: ${r.stderr}`);
    return r.stdout.trim();
  }
  const name = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
  async function assertOpen(from: Pod, host: string, port: number, what: string) {
    assert.equal(await connect(from, host, port), 'open', `${name(from)} -> ${what} (${host}:${port}) should be allowed`);
  }
  async function assertBlocked(from: Pod, host: string, port: number, what: string) {
    const got = await connect(from, host, port);
    assert.notEqual(got, 'open', `${name(from)} -> ${what} (${host}:${port}) should be blocked`);
  }

  before(
    async () => {
      node = await startRealNode({ networkPolicy: true, syncFrequency: '10s', log: (line) => console.log(line) });
      // The "Internet" address on the node's bridge (it goes with the bridge at teardown).
      execFileSync('ip', ['addr', 'add', `${OUTSIDE_IP}/32`, 'dev', BRIDGE]);
      sinkDir = mkdtempSync(join(tmpdir(), 'stafette-netpol-'));
      for (const host of [OUTSIDE_IP, node.nodeIp])
        sinks.push(await startSmtpSink({ host, port: 25, behaviour: 'accept', dir: sinkDir, name: `sink-${host}` }));
      dovecot = await startDovecot([{ address: `bob@${DOMAIN}`, password: 'bob-secret' }], { host: node.nodeIp });

      for (const ns of ['nats', NS, 'monitoring', 'elsewhere']) await restrictedNamespace(node, ns);
      await node.ok(['apply', '-f', '-'], { input: natsManifests({ namespace: 'nats', image: node.images.natsServer }) });
      await helmOn(
        node,
        localChartInstall({
          release: RELEASE,
          namespace: NS,
          image: node.images.stafette,
          lmtp: { host: node.nodeIp, port: dovecot.lmtpPort },
          set: [
            `service.type=NodePort,service.nodePorts.mx=${MX_NODE_PORT}`,
            // The policies as the chart ships them (NATS in namespace nats, scrapes from
            // monitoring), told the port this cluster's DNS pods listen on: a policy sees the
            // pod's port after the Service, and with 53 alone the MTA cannot resolve NATS here.
            `networkPolicy.enabled=true,networkPolicy.dnsPorts={${CLUSTER_DNS_POD_PORT}}`,
          ],
        }),
      );
      const image = node.images.stafette;
      const pods = [
        probePod('monitoring', 'probe', image),
        probePod('elsewhere', 'probe', image),
        probePod(NS, 'probe', image),
        // NATS's labels in the wrong namespace: the MTA's egress names the namespace too.
        probePod('elsewhere', 'decoy', image, { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'nats' }),
      ];
      await node.ok(['apply', '-f', '-'], { input: pods.map((p) => stringify(p)).join('---\n') });
      await waitFor('kube-router to write both chart policies', () => policyEnforced(NS, `${RELEASE}-mta`) && policyEnforced(NS, `${RELEASE}-operator`), {
        timeoutMs: 2 * minute,
        intervalMs: 500,
      });
      // The MailDomain and Mailbox only now: the operator reaches the API server under its policy.
      await node.ok(['apply', '--server-side', '-f', '-'], { input: resources() });
      for (const ns of ['kube-system', 'nats', NS, 'monitoring', 'elsewhere']) await waitPodsReady(node, ns, { timeoutMs: 4 * minute });
      const one = async (ns: string, selector: string) => {
        const list = await listPods(node, ns, selector);
        assert.ok(list[0], `no pod ${selector} in ${ns}`);
        return list[0];
      };
      mta = await one(NS, 'app.kubernetes.io/component=mta');
      operator = await one(NS, 'app.kubernetes.io/component=operator');
      natsPod = await one('nats', 'app.kubernetes.io/name=nats');
      probes.monitoring = await one('monitoring', 'stafette.test/probe=probe');
      probes.elsewhere = await one('elsewhere', 'stafette.test/probe=probe');
      probes.mail = await one(NS, 'stafette.test/probe=probe');
      probes.decoy = await one('elsewhere', 'stafette.test/probe=decoy');
    },
    { timeout: 15 * minute },
  );

  after(
    async () => {
      await dovecot?.stop();
      for (const s of sinks) await s.stop();
      if (sinkDir) rmSync(sinkDir, { recursive: true, force: true });
      if (!node) return;
      const left = await node.stop();
      assert.deepEqual(left, [], 'the machine is not as it was before the node started');
    },
    { timeout: 3 * minute },
  );

  test('MX mail from outside reaches a Mailbox through the NodePort, the MTA pods, NATS and LMTP, with every policy in force', async () => {
    const id = `netpol-${Date.now()}`;
    await node.ok(['wait', '-n', NS, '--for=condition=Ready', 'maildomain/netpol-test', 'mailbox/bob', '--timeout=120s'], { timeoutMs: 130_000 });
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
c: Subject: through the policies
c: Message-ID: <${id}@elsewhere.test>
c:
c: hello through the NetworkPolicies
c: .
s: 250 *
c: QUIT
s: 221 *`,
    );
    const maildir = join(dovecot.maildir(`bob@${DOMAIN}`), 'new');
    const delivered = await waitFor(
      "the message in bob's Dovecot maildir",
      () => {
        try {
          return readdirSync(maildir)
            .map((f) => readFileSync(join(maildir, f), 'utf8'))
            .find((m) => m.includes(id));
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.match(delivered, /hello through the NetworkPolicies/);
  });

  test('SMTP ingress is open to any pod (smtpFrom empty), on the SMTP ports only', async () => {
    const ip = mta.status.podIP!;
    for (const from of [probes.elsewhere, probes.monitoring, probes.mail]) {
      await assertOpen(from, ip, PORTS.mx, 'MTA mx');
      await assertOpen(from, ip, PORTS.submission, 'MTA submission');
    }
  });

  test('the MTA ops port (/metrics) answers only pods of networkPolicy.metricsFrom (namespace monitoring)', async () => {
    const ip = mta.status.podIP!;
    await assertOpen(probes.monitoring, ip, PORTS.ops, 'MTA ops');
    await assertBlocked(probes.elsewhere, ip, PORTS.ops, 'MTA ops');
    await assertBlocked(probes.mail, ip, PORTS.ops, 'MTA ops');
  });

  test('the operator health/metrics port answers only pods of networkPolicy.metricsFrom', async () => {
    const ip = operator.status.podIP!;
    await assertOpen(probes.monitoring, ip, PORTS.operatorHealth, 'operator health');
    await assertBlocked(probes.elsewhere, ip, PORTS.operatorHealth, 'operator health');
    await assertBlocked(probes.mail, ip, PORTS.operatorHealth, 'operator health');
  });

  test('the MTA reaches NATS on its client port, and no other port of the NATS pods', async () => {
    const ip = natsPod.status.podIP!;
    await assertOpen(mta, ip, PORTS.nats, 'NATS client port');
    // The monitor port listens (the probe reaches it; NATS's own policies are not the chart's)...
    await assertOpen(probes.elsewhere, ip, PORTS.natsMonitor, 'NATS monitor port');
    // ...but not for the MTA.
    await assertBlocked(mta, ip, PORTS.natsMonitor, 'NATS monitor port');
  });

  test("the MTA's NATS egress names the namespace: a pod with NATS's labels elsewhere is not reachable on 4222", async () => {
    const ip = probes.decoy.status.podIP!;
    await assertOpen(probes.monitoring, ip, PORTS.probe, 'decoy 4222');
    await assertBlocked(mta, ip, PORTS.probe, 'decoy 4222 (NATS labels, namespace elsewhere)');
    // Nor any other pod on 4222.
    await assertBlocked(mta, probes.monitoring.status.podIP!, PORTS.probe, 'probe 4222');
  });

  test('the MTA sends mail (port 25) outside the cluster, never to an address inside clusterCIDRs', async () => {
    await assertOpen(mta, OUTSIDE_IP, 25, 'remote MX outside the cluster');
    // The node's own address is in 10.0.0.0/8: the same smtp-sink there is open to others...
    await assertOpen(probes.elsewhere, node.nodeIp, 25, 'smtp-sink on the node address');
    // ...and closed to the MTA.
    await assertBlocked(mta, node.nodeIp, 25, 'smtp-sink on the node address (inside clusterCIDRs)');
  });

  test("the MTA reaches defaultDelivery's LMTP port, and no other port of that host", async () => {
    await assertOpen(mta, dovecot.host, dovecot.lmtpPort, 'Dovecot LMTP');
    await assertOpen(probes.elsewhere, dovecot.host, dovecot.imapPort, 'Dovecot IMAP');
    await assertBlocked(mta, dovecot.host, dovecot.imapPort, 'Dovecot IMAP');
  });

  test('DNS: the MTA resolves through cluster DNS; the operator, with no operator.dnsServers, may not ask it', async () => {
    const resolve = async (from: Pod) => {
      const r = await node.run(['exec', '-n', NS, from.metadata.name, '--', '/usr/local/bin/node', '-e', RESOLVE, 'nats.nats.svc.cluster.local'], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.match(await resolve(mta), /^10\.96\.0\.\d+$/);
    assert.doesNotMatch(await resolve(operator), /^10\.96\./);
    // The same server answers a pod without policies.
    assert.equal(await connect(probes.elsewhere, '10.96.0.10', 53), 'open');
  });

  test('the operator reaches the API server (a new Mailbox is reconciled under the policy), and nothing else', async () => {
    await node.ok(['apply', '--server-side', '-f', '-'], {
      input: stringify({
        apiVersion: 'stafette.dev/v1alpha1',
        kind: 'Mailbox',
        metadata: { name: 'carol', namespace: NS },
        spec: { address: `carol@${DOMAIN}` },
      }),
    });
    await node.ok(['wait', '-n', NS, '--for=condition=Ready', 'mailbox/carol', '--timeout=120s'], { timeoutMs: 130_000 });
    await assertBlocked(operator, natsPod.status.podIP!, PORTS.nats, 'NATS');
    await assertBlocked(operator, mta.status.podIP!, PORTS.mx, 'MTA mx');
    await assertBlocked(operator, OUTSIDE_IP, 25, 'outside port 25');
    // The same MTA port is open to a pod without an egress policy.
    await assertOpen(probes.elsewhere, mta.status.podIP!, PORTS.mx, 'MTA mx');
  });
});
