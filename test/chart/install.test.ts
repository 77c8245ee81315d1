// The chart as users install and upgrade it: the real helm against a real API server (no
// kubelet: nothing runs, every object is stored and validated).
//   - Helm installs crds/ once and never upgrades them; the documented path (README, chart
//     README) is `helm show crds … | kubectl apply --server-side --force-conflicts -f -`:
//     an older release's CRDs are replaced and every resource is kept.
//   - helm/production.yaml installs without the Prometheus Operator, and says so; with it, the
//     monitors appear on the next upgrade.
//   - a typo in the values fails helm install, and nothing is created.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';

const exec = promisify(execFile);
const chart = join(REPO_ROOT, 'charts/stafette');
const crdNames = ['mailboxes.stafette.dev', 'maildomains.stafette.dev', 'relays.stafette.dev'];

interface Crd {
  metadata: { name: string; managedFields: { manager: string; operation: string }[] };
  spec: { versions: { schema: unknown }[] };
}

describe('the chart installed and upgraded with helm on a real API server', () => {
  let kube: KubeApiServer;
  let work: string;

  async function helm(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = exec(helmBinary(), [...args, '--kubeconfig', kube.kubeconfig], { maxBuffer: 32 * 1024 * 1024 });
    if (input !== undefined) child.child.stdin?.end(input);
    try {
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
    }
  }
  const helmOk = async (args: string[]) => {
    const result = await helm(args);
    assert.equal(result.code, 0, `helm ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const crdSchemas = async () => {
    const list = JSON.parse(await kube.ok(['get', 'crd', ...crdNames, '-o', 'json', '--show-managed-fields'])) as { items: Crd[] };
    return Object.fromEntries(list.items.map((c) => [c.metadata.name, c]));
  };
  const fileSchemas = (dir: string) =>
    Object.fromEntries(
      ['mailboxes', 'maildomains', 'relays']
        .map((f) => parseAllDocuments(readFileSync(join(dir, `${f}.yaml`), 'utf8'))[0]?.toJS() as Crd)
        .map((c) => [c.metadata.name, c.spec.versions[0]?.schema]),
    );

  before(async () => {
    // No CRDs: the first helm install creates them, as on a new cluster.
    kube = await startKubeApiServer({ crdDir: null });
    work = mkdtempSync(join(tmpdir(), 'stafette-chart-'));
  });
  after(async () => {
    await kube?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('CRDs of an older release are upgraded with kubectl apply --server-side --force-conflicts; every resource is kept', async () => {
    // The previous release: this chart with the CRDs as they were before status defaulted
    // to observedGeneration -1 (testdata/crds-previous).
    const previous = join(work, 'stafette');
    cpSync(chart, previous, { recursive: true });
    rmSync(join(previous, 'crds'), { recursive: true });
    cpSync(join(REPO_ROOT, 'test/chart/testdata/crds-previous'), join(previous, 'crds'), { recursive: true });
    await helmOk(['install', 'stafette', previous, '-n', 'mail', '--create-namespace']);
    await kube.ok(['wait', '--for=condition=Established', ...crdNames.map((n) => `crd/${n}`)]);
    await kube.ok(['apply', '--server-side', '-n', 'mail', '-f', join(REPO_ROOT, 'examples/')]);
    const uids = await kube.ok(['get', 'maildomains,mailboxes,relays', '-n', 'mail', '-o', 'jsonpath={.items[*].metadata.uid}']);
    assert.equal(uids.split(' ').length, 4);
    assert.equal(await kube.ok(['get', 'mailbox/alice', '-n', 'mail', '-o', 'jsonpath={.status}']), '', 'the old CRD has no status default');

    // helm upgrade to this chart: crds/ is not touched.
    await helmOk(['upgrade', 'stafette', chart, '-n', 'mail']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(await crdSchemas()).map(([n, c]) => [n, c.spec.versions[0]?.schema])),
      fileSchemas(join(REPO_ROOT, 'test/chart/testdata/crds-previous')),
      'Helm never upgrades crds/',
    );

    // The documented step. Without --force-conflicts the fields Helm created are another manager's.
    const crds = await helmOk(['show', 'crds', chart]);
    const refused = await kube.run(['apply', '--server-side', '-f', '-'], { input: crds });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /conflict/i);
    assert.match(refused.stderr, /"helm"/);
    await kube.ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: crds });
    await kube.ok(['wait', '--for=condition=Established', ...crdNames.map((n) => `crd/${n}`)]);

    const upgraded = await crdSchemas();
    assert.deepEqual(
      Object.fromEntries(Object.entries(upgraded).map(([n, c]) => [n, c.spec.versions[0]?.schema])),
      fileSchemas(join(chart, 'crds')),
      "the CRDs are this chart's",
    );
    for (const c of Object.values(upgraded))
      assert.ok(
        c.metadata.managedFields.some((f) => f.manager === 'kubectl' && f.operation === 'Apply'),
        `${c.metadata.name} is owned by the apply now`,
      );
    assert.equal(
      await kube.ok(['get', 'maildomains,mailboxes,relays', '-n', 'mail', '-o', 'jsonpath={.items[*].metadata.uid}']),
      uids,
      'the same resources, none lost or recreated',
    );
    assert.equal(
      await kube.ok(['get', 'mailbox/alice', '-n', 'mail', '-o', 'jsonpath={.status.observedGeneration}']),
      '-1',
      'the new schema is in force for existing resources',
    );

    // Later upgrades leave them as they are; the same apply again changes nothing.
    await helmOk(['upgrade', 'stafette', chart, '-n', 'mail']);
    const again = await kube.ok(['apply', '--server-side', '-f', join(chart, 'crds')]);
    assert.match(again, /serverside-applied/);
    assert.deepEqual(Object.keys(await crdSchemas()).sort(), [...crdNames].sort());
  });

  test('helm/production.yaml installs without the Prometheus Operator, says so, and gets its monitors once it is there', async () => {
    const production = join(REPO_ROOT, 'helm/production.yaml');
    const installed = await helmOk(['install', 'stafette', chart, '-n', 'prod', '--create-namespace', '-f', production]);
    assert.match(installed, /STATUS: deployed/);
    assert.match(installed, /Monitoring: NO PodMonitor was created: this cluster does not serve the Prometheus\s+Operator's monitoring\.coreos\.com\/v1 API/);
    assert.doesNotMatch(await helmOk(['get', 'manifest', 'stafette', '-n', 'prod']), /kind: PodMonitor/);

    // The Prometheus Operator's PodMonitor API (a stand-in CRD: only group, version and kind matter).
    await kube.ok(['apply', '--server-side', '-f', '-'], {
      input: `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: podmonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: PodMonitor, plural: podmonitors, singular: podmonitor, listKind: PodMonitorList}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`,
    });
    await kube.ok(['wait', '--for=condition=Established', 'crd/podmonitors.monitoring.coreos.com']);
    const upgraded = await helmOk(['upgrade', 'stafette', chart, '-n', 'prod', '-f', production]);
    assert.doesNotMatch(upgraded, /Monitoring: NO/);
    assert.equal(await kube.ok(['get', 'podmonitors', '-n', 'prod', '-o', 'jsonpath={.items[*].metadata.name}']), 'stafette-mta stafette-operator');
  });

  test('a typo in the values fails helm install, naming the key, and creates nothing', async () => {
    const result = await helm(['install', 'typo', chart, '-n', 'typo', '--create-namespace', '--set', 'mta.replica=3']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /at '\/mta': additional properties 'replica' not allowed/);
    assert.equal((await helmOk(['list', '-n', 'typo', '-q'])).trim(), '');
    assert.equal(await kube.ok(['get', 'deployments', '-n', 'typo', '-o', 'name']), '');
  });

  test('the queue seal key made at the first install is kept by upgrades (lookup), and an edited one too', async () => {
    await helmOk(['install', 'seal', chart, '-n', 'seal', '--create-namespace']);
    const name = 'secret/seal-stafette-mta-queue-seal';
    const keys = () => kube.ok(['get', name, '-n', 'seal', '-o', 'jsonpath={.data.keys}']);
    const first = await keys();
    assert.match(Buffer.from(first, 'base64').toString(), /^[A-Za-z0-9]{64}\n$/);
    await helmOk(['upgrade', 'seal', chart, '-n', 'seal']);
    assert.equal(await keys(), first, 'an upgrade keeps the key, so queued records still verify');
    // A rotation: the admin adds a key; the next upgrade keeps both.
    const rotated = Buffer.from(`${'n'.repeat(64)}\n${Buffer.from(first, 'base64').toString()}`).toString('base64');
    await kube.ok(['patch', name, '-n', 'seal', '--type', 'merge', '-p', JSON.stringify({ data: { keys: rotated } })]);
    await helmOk(['upgrade', 'seal', chart, '-n', 'seal']);
    assert.equal(await keys(), rotated);
  });
});
