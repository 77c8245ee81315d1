// The operator runs under the RBAC the Helm chart ships, and under nothing more
// (docs/reliability.md §3 scenario 49). Only the chart's operator ServiceAccount, Role and RoleBinding are
// installed (helm template --show-only), then:
//   - nothing is missing: the real operator, impersonating that ServiceAccount, turns
//     examples/ into Ready resources and a bundle, and writes a cert-manager Certificate
//     and an ExternalDNS DNSEndpoint, without a single Forbidden in its logs;
//   - nothing is excessive: `kubectl auth can-i --list` as the ServiceAccount equals
//     testdata/operator-rbac.golden, and the dangerous verbs are refused explicitly.
// Regenerate the golden file with UPDATE_GOLDEN=1 after a deliberate change to the Role.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLogger, type Logger } from '../../observability/logger.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { apply, getJson, renderOperatorRbac, runOperator, waitForCondition } from './operator-fixture.ts';

const ns = 'stafette-rbac';
const other = 'stafette-rbac-other';
// Release "stafette": the chart's fullname is "stafette", its operator "stafette-operator".
const saName = 'stafette-operator';
const sa = `system:serviceaccount:${ns}:${saName}`;
const goldenPath = join(REPO_ROOT, 'test/operator/testdata/operator-rbac.golden');

/** Stand-ins for the cert-manager and ExternalDNS CRDs: only the API group and kind matter here. */
const stubCrd = (group: string, kind: string, plural: string, version: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
  # *.k8s.io groups are protected; ExternalDNS's own CRD carries this approval.
  annotations: {api-approved.kubernetes.io: "https://github.com/kubernetes-sigs/external-dns/pull/2007"}
spec:
  group: ${group}
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List}
  scope: Namespaced
  versions:
    - name: ${version}
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

const integrationsDomain = `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: example-org}
spec:
  domain: example.org
  hostname: mx.example.org
  tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
  dns: {publish: externalDNS}
`;

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

describe("the operator under the Helm chart's RBAC", () => {
  let kube: KubeApiServer;
  const logs: LogLine[] = [];
  let logger: Logger;
  const warnings = () => warningsOf(logs);

  before(async () => {
    kube = await startKubeApiServer();
    logger = jsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as LogLine) });
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['create', 'namespace', other]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', '-'], { input: await renderOperatorRbac(ns) });
    await kube.ok(['apply', '--server-side', '-f', '-'], {
      input: stubCrd('cert-manager.io', 'Certificate', 'certificates', 'v1') + '---' + stubCrd('externaldns.k8s.io', 'DNSEndpoint', 'dnsendpoints', 'v1alpha1'),
    });
    await kube.ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/dnsendpoints.externaldns.k8s.io']);
  });
  after(async () => {
    await kube?.stop();
  });

  test('the chart renders exactly a ServiceAccount, a Role and a RoleBinding for the operator', async () => {
    const kinds = [...(await renderOperatorRbac(ns)).matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(kinds, ['ServiceAccount', 'Role', 'RoleBinding']);
  });

  test('nothing is missing: examples/ converge with the operator impersonating its ServiceAccount', async (t) => {
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', join(REPO_ROOT, 'examples/')]);
    await apply(kube, ns, integrationsDomain);
    // Short DKIM timings, so a rotation below promotes, retires and deletes keys in seconds.
    const operator = await runOperator(kube, ns, { as: sa, logger, propagationDelayMs: 500, retireAfterMs: 1500 });
    t.after(() => operator.stop());

    try {
      for (const r of ['maildomain/example-com', 'mailbox/alice', 'mailbox/bob', 'relay/partner']) {
        await waitForCondition(kube, r, ns, 'True', undefined, 'Ready', 60_000);
      }
      // The optional integrations were written (not ApplyFailed): cert-manager and
      // ExternalDNS are "installed" (stub CRDs) but run nothing, so both wait.
      await waitForCondition(kube, 'maildomain/example-org', ns, 'False', 'Issuing', 'CertificateReady', 60_000);
      await waitForCondition(kube, 'maildomain/example-org', ns, 'False', 'Publishing', 'DNSPublished', 60_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\noperator warnings:\n${warnings().join('\n')}`, { cause: error });
    }

    // The bundle: the ConfigMap and every Secret shard, plus the operator's password index.
    const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', ns]);
    assert.ok(cm.binaryData['bundle.json.gz']);
    for (const name of ['stafette-bundle-secrets-0', 'stafette-bundle-secrets-1', 'stafette-bundle-password-index']) {
      await kube.ok(['get', 'secret', name, '-n', ns]);
    }
    await kube.ok(['get', 'certificate.cert-manager.io/example-org-tls', '-n', ns]);
    await kube.ok(['get', 'dnsendpoint.externaldns.k8s.io/example-org-mail', '-n', ns]);
    // The Lease it leads with, and its events.k8s.io Events.
    const lease = await getJson<{ spec: { holderIdentity?: string } }>(kube, ['get', 'lease.coordination.k8s.io/stafette-operator', '-n', ns]);
    assert.ok(lease.spec.holderIdentity);
    // Events: the operator tried to record DKIMKeyGenerated. Creating it must never be
    // Forbidden (a 422 would be the operator's own validation problem, not RBAC's).
    await waitFor('a DKIMKeyGenerated event or attempt', async () => {
      const events = await getJson<{ items: { reason: string }[] }>(kube, ['get', 'events.events.k8s.io', '-n', ns]);
      return (
        events.items.some((e) => e.reason === 'DKIMKeyGenerated') || logs.some((l) => l.msg === 'could not record event' && l.reason === 'DKIMKeyGenerated')
      );
    });

    // A DKIM rotation: the new key's Secret is created, annotated (patch) when it starts
    // signing, the old one annotated as retiring and then deleted.
    await kube.ok(['patch', 'maildomain/example-com', '-n', ns, '--type=merge', '-p', '{"spec":{"dkim":{"selector":"s2027"}}}']);
    // The operator's own timed requeue (promote after propagationDelayMs, delete after
    // retireAfterMs) is shadowed by the 6-hour rotation requeue already pending for the
    // domain (WorkQueue.addAfter keeps the first timer), so the test nudges it with a
    // metadata change, which the informer delivers as an update: RBAC is the subject here.
    let nudges = 0;
    const nudge = () => kube.ok(['annotate', '--overwrite', 'maildomain/example-com', '-n', ns, `test.stafette.dev/nudge=${nudges++}`]);
    try {
      await waitFor(
        'the s2026 DKIM Secret deleted after its retirement',
        async () => {
          if ((await kube.run(['get', 'secret', 'example-com-dkim-s2026', '-n', ns])).code !== 0) return true;
          await nudge();
          return false;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      await waitFor(
        's2027 signing',
        async () => {
          const d = await getJson<{ status?: { dkim?: { signingSelectors?: string } } }>(kube, ['get', 'maildomain/example-com', '-n', ns]);
          return d.status?.dkim?.signingSelectors === 's2027';
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } catch (error) {
      const keys = await kube.run([
        'get',
        'secrets',
        '-n',
        ns,
        '-l',
        'stafette.dev/maildomain=example-com',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations}{"\\n"}{end}',
      ]);
      const status = await kube.run(['get', 'maildomain/example-com', '-n', ns, '-o', 'jsonpath={.status}']);
      throw new Error(
        `${(error as Error).message}\nDKIM Secrets:\n${keys.stdout}\nstatus: ${status.stdout}\noperator warnings:\n${warnings().join('\n')}\nlogs:\n${logs
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
        { cause: error },
      );
    }

    await operator.idle();
    assert.deepEqual(
      warnings().filter((w) => /"error":"403|forbidden/i.test(w)),
      [],
      'the operator was refused something',
    );
  });

  test('nothing is excessive: kubectl auth can-i --list matches the golden file', async () => {
    const actual = normalizeCanIList(await kube.ok(['auth', 'can-i', '--list', '-n', ns], { as: sa }));
    if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, actual);
    assert.equal(actual, readFileSync(goldenPath, 'utf8'), 'the Role changed: review it, then UPDATE_GOLDEN=1');
  });

  test('nothing outside the release namespace: no Secret (or anything else) in another namespace', async () => {
    await kube.ok(['create', 'secret', 'generic', 'not-yours', '-n', other, '--from-literal=password=x']);
    const read = await kube.run(['get', 'secret', 'not-yours', '-n', other], { as: sa });
    assert.notEqual(read.code, 0);
    assert.match(read.stderr, /cannot get resource "secrets" in API group "" in the namespace "stafette-rbac-other"/);
    const all = await kube.run(['get', 'secrets', '--all-namespaces'], { as: sa });
    assert.notEqual(all.code, 0);
    assert.match(all.stderr, /cannot list resource "secrets" in API group "" at the cluster scope/);
    const otherList = await kube.run(['auth', 'can-i', '--list', '-n', other], { as: sa });
    assert.doesNotMatch(otherList.stdout, /secrets|configmaps|leases|stafette\.dev/);
  });

  test('the dangerous verbs are refused: pods, workloads, exec, escalate, bind, impersonate', async () => {
    const denied: [string, string][] = [
      ['create', 'pods'],
      ['create', 'pods/exec'],
      ['create', 'deployments.apps'],
      ['create', 'jobs.batch'],
      ['escalate', 'roles.rbac.authorization.k8s.io'],
      ['bind', 'roles.rbac.authorization.k8s.io'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io'],
      ['create', 'rolebindings.rbac.authorization.k8s.io'],
      ['impersonate', 'users'],
      ['impersonate', 'serviceaccounts'],
      ['create', 'serviceaccounts/token'],
      ['deletecollection', 'secrets'],
      ['update', 'secrets'],
      ['update', 'maildomains.stafette.dev'],
      ['patch', 'maildomains.stafette.dev'],
      ['delete', 'maildomains.stafette.dev'],
      ['get', 'configmaps/someone-elses-config'],
      ['patch', 'configmaps/someone-elses-config'],
      ['update', 'leases.coordination.k8s.io/someone-elses-lease'],
      ['delete', 'leases.coordination.k8s.io/stafette-operator'],
      ['create', 'events'],
      ['update', 'events.events.k8s.io'],
      ['delete', 'events.events.k8s.io'],
      ['delete', 'certificates.cert-manager.io'],
      ['delete', 'dnsendpoints.externaldns.k8s.io'],
      ['list', 'namespaces'],
      ['list', 'nodes'],
    ];
    for (const [verb, resource] of denied) {
      const result = await kube.run(['auth', 'can-i', verb, resource, '-n', ns], { as: sa });
      assert.equal(result.stdout.trim(), 'no', `${sa} can ${verb} ${resource}`);
    }
    // A real request, not only the review: a Pod is refused.
    const pod = await kube.run(['run', 'shell', '--image=busybox', '-n', ns], { as: sa });
    assert.notEqual(pod.code, 0);
    assert.match(pod.stderr, /cannot create resource "pods"/);
  });
});

/** can-i --list output with its column padding removed and its rows sorted, so alignment changes do not matter. */
function normalizeCanIList(output: string): string {
  const [header, ...rows] = output
    .trim()
    .split('\n')
    .map((l) =>
      l
        .trimEnd()
        .split(/\s{2,}/)
        .join(' | '),
    );
  return `${[header, ...rows.sort()].join('\n')}\n`;
}

function warningsOf(logs: LogLine[]): string[] {
  return logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => JSON.stringify(l));
}

describe("the operator under the chart's RBAC with operator.watchAllNamespaces", () => {
  let kube: KubeApiServer;
  const release = 'stafette-system';
  const tenant = 'tenant-a';
  const wideSa = `system:serviceaccount:${release}:${saName}`;
  const wideGolden = join(REPO_ROOT, 'test/operator/testdata/operator-rbac-all-namespaces.golden');
  const logs: LogLine[] = [];

  before(async () => {
    kube = await startKubeApiServer();
    await kube.ok(['create', 'namespace', release]);
    await kube.ok(['create', 'namespace', tenant]);
    await kube.ok(['apply', '--server-side', '-n', release, '-f', '-'], { input: await renderOperatorRbac(release, true) });
  });
  after(async () => {
    await kube?.stop();
  });

  test('examples/ in another namespace converge; the bundle and Lease stay in the release namespace', async (t) => {
    await kube.ok(['apply', '--server-side', '-n', tenant, '-f', join(REPO_ROOT, 'examples/')]);
    const operator = await runOperator(kube, release, {
      as: wideSa,
      namespaces: null,
      logger: jsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as LogLine) }),
    });
    t.after(() => operator.stop());
    try {
      for (const r of ['maildomain/example-com', 'mailbox/alice', 'mailbox/bob', 'relay/partner']) {
        await waitForCondition(kube, r, tenant, 'True', undefined, 'Ready', 60_000);
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\noperator warnings:\n${warningsOf(logs).join('\n')}`, { cause: error });
    }
    await kube.ok(['get', 'configmap', 'stafette-bundle', '-n', release]);
    await kube.ok(['get', 'lease.coordination.k8s.io/stafette-operator', '-n', release]);
    await kube.ok(['get', 'secret', 'example-com-dkim-s2026', '-n', tenant]);
    await operator.idle();
    assert.deepEqual(
      warningsOf(logs).filter((w) => /"error":"403|forbidden/i.test(w)),
      [],
      'the operator was refused something',
    );
  });

  test('the ClusterRole adds only the cluster-wide watch, status, Secret and child rules (golden)', async () => {
    const actual = normalizeCanIList(await kube.ok(['auth', 'can-i', '--list', '-n', tenant], { as: wideSa }));
    if (process.env.UPDATE_GOLDEN) writeFileSync(wideGolden, actual);
    assert.equal(actual, readFileSync(wideGolden, 'utf8'), 'the ClusterRole changed: review it, then UPDATE_GOLDEN=1');
    for (const [verb, resource] of [
      ['create', 'pods'],
      ['create', 'configmaps'],
      ['create', 'leases.coordination.k8s.io'],
      ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
      ['impersonate', 'users'],
    ] as const) {
      assert.equal((await kube.run(['auth', 'can-i', verb, resource, '-n', tenant], { as: wideSa })).stdout.trim(), 'no', `${verb} ${resource}`);
    }
  });
});
