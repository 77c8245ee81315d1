// What the Helm chart renders (defaults, helm/kind.yaml, helm/production.yaml, every option
// on) is accepted by a real API server (server-side dry run) in a namespace that enforces Pod
// Security "restricted", and the CRDs it installs are served.
// Rendered manifests are free-form YAML of dozens of kinds; the assertions below are what
// checks their shape, so the objects stay loosely typed in this file only.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { chart, everything, objects, presets, template } from './chart-template.ts';

describe('the Helm chart against a real API server', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
    // Stand-ins for the Prometheus Operator CRDs, so monitoring objects can be dry-run too.
    const stub = (kind: string, plural: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`;
    await kube.ok(['apply', '--server-side', '-f', '-'], { input: stub('PodMonitor', 'podmonitors') + '---' + stub('ServiceMonitor', 'servicemonitors') });
    await kube.ok([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/servicemonitors.monitoring.coreos.com',
    ]);
  });
  after(async () => {
    await kube?.stop();
  });

  /** A namespace that enforces, and warns about, Pod Security "restricted". */
  async function restrictedNamespace(name: string): Promise<void> {
    await kube.ok(['create', 'namespace', name]);
    await kube.ok(['label', 'namespace', name, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
  }

  const variants: [string, string[]][] = [
    ['default', [...presets.default]],
    ['kind', [...presets.kind]],
    ['production', [...presets.production]],
    ['everything', everything],
    ['podmonitor', ['--set', 'monitoring.enabled=true,networkPolicy.enabled=true', '--api-versions', 'monitoring.coreos.com/v1/PodMonitor']],
  ];
  for (const [name, args] of variants) {
    test(`helm template (${name}) applies with kubectl apply --server-side --dry-run=server, without Pod Security warnings`, async () => {
      const ns = `chart-${name}`;
      await restrictedNamespace(ns);
      const rendered = await template(ns, ...args);
      const result = await kube.run(['apply', '--server-side', '--dry-run=server', '--field-manager=helm-test', '-f', '-'], { input: rendered });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /would violate PodSecurity/, result.stderr);
      const applied = result.stdout.trim().split('\n').length;
      assert.equal(applied, objects(rendered).length, result.stdout);
    });
  }

  test('the Pod Security check above is real: a privilege escalation is reported', async () => {
    const ns = 'chart-negative';
    await restrictedNamespace(ns);
    const rendered = await template(ns, '--set', 'containerSecurityContext.allowPrivilegeEscalation=true');
    const result = await kube.run(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: rendered });
    assert.match(result.stderr, /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  test('the CRDs the chart installs are served by the API server and equal the installed ones', async () => {
    const crds = objects(
      readdirSync(join(chart, 'crds'))
        .map((f) => readFileSync(join(chart, 'crds', f), 'utf8'))
        .join('\n---\n'),
    );
    const result = await kube.run(['apply', '--server-side', '--dry-run=server', '-f', join(chart, 'crds')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [...kube.crds].sort());
  });
});
