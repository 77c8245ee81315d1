// The Helm chart: it lints, every values key is documented, its CRDs are the API's CRDs,
// the presets in helm/ and kind-config.yaml agree with it, and what it renders (defaults,
// helm/kind.yaml, helm/production.yaml, every option on) is accepted by a real API
// server (server-side dry run) in a namespace that enforces Pod Security "restricted".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isMap, isScalar, parse, parseAllDocuments, parseDocument, type YAMLMap } from 'yaml';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';

// Rendered manifests are free-form YAML of dozens of kinds; the assertions below are what
// checks their shape, so the objects stay loosely typed in this file only.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';

const chart = join(REPO_ROOT, 'charts/stafette');
const exec = promisify(execFile);

async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(helmBinary(), args, { maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

async function template(namespace: string, ...args: string[]): Promise<string> {
  const result = await helm(['template', 'stafette', chart, '--namespace', namespace, ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  [key: string]: any;
}

function objects(rendered: string): K8sObject[] {
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find(list: K8sObject[], kind: string, name: string): K8sObject {
  const found = list.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} not rendered; have ${list.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

const presets = { default: [], kind: ['-f', join(REPO_ROOT, 'helm/kind.yaml')], production: ['-f', join(REPO_ROOT, 'helm/production.yaml')] } as const;
const everything = [
  '--set',
  'networkPolicy.enabled=true,monitoring.enabled=true,monitoring.kind=ServiceMonitor,operator.watchAllNamespaces=true,operator.replicas=2,nats.existingSecret=nats-creds,mtaStsIngress.enabled=true,mtaStsIngress.domains={example.com},mta.extraCaSecret=internal-ca',
  '--api-versions',
  'monitoring.coreos.com/v1/ServiceMonitor',
];

describe('the Helm chart, offline', () => {
  test("the chart's CRDs are byte for byte the CRDs in crds/", () => {
    const source = readdirSync(join(REPO_ROOT, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const copies = readdirSync(join(chart, 'crds')).sort();
    assert.deepEqual(copies, source, 'charts/stafette/crds/ must hold exactly the files of crds/*.yaml');
    for (const file of source) {
      assert.ok(
        readFileSync(join(chart, 'crds', file)).equals(readFileSync(join(REPO_ROOT, 'crds', file))),
        `charts/stafette/crds/${file} differs from crds/${file}: cp crds/*.yaml charts/stafette/crds/`,
      );
    }
  });

  test('every key of values.yaml has a ## comment', () => {
    const doc = parseDocument(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    const undocumented: string[] = [];
    const walk = (map: YAMLMap, path: string) => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        // The comment above a nested map's first key belongs to the map in the yaml AST.
        const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? map.commentBefore : undefined) ?? '';
        // The last paragraph before the key; `## text` arrives as `# text`.
        const last = comment.split('\n\n').pop() ?? '';
        if (!last.trimStart().startsWith('#')) undocumented.push(`${path}${key}`);
        if (isMap(pair.value)) walk(pair.value, `${path}${key}.`);
      });
    };
    assert.ok(isMap(doc.contents));
    walk(doc.contents, '');
    assert.deepEqual(undocumented, []);
  });

  test('the presets in helm/ only set keys values.yaml has', () => {
    const defaults = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const unknown: string[] = [];
    const walk = (preset: Record<string, unknown>, base: unknown, path: string) => {
      for (const [key, value] of Object.entries(preset)) {
        const known = base !== null && typeof base === 'object' && !Array.isArray(base) ? (base as Record<string, unknown>)[key] : undefined;
        // Free-form maps ({} by default: labels, annotations, selectors) take any key.
        const freeForm = base !== null && typeof base === 'object' && Object.keys(base).length === 0;
        if (known === undefined && !freeForm) unknown.push(`${path}${key}`);
        else if (value && typeof value === 'object' && !Array.isArray(value) && known && typeof known === 'object' && !Array.isArray(known)) {
          walk(value as Record<string, unknown>, known, `${path}${key}.`);
        }
      }
    };
    for (const file of ['kind.yaml', 'production.yaml'])
      walk(parse(readFileSync(join(REPO_ROOT, 'helm', file), 'utf8')) as Record<string, unknown>, defaults, `${file}: `);
    assert.deepEqual(unknown, []);
  });

  test('kind-config.yaml maps host ports 25/587/465 to the node ports of helm/kind.yaml', () => {
    const kind = parse(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8')) as {
      nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[];
    };
    const mappings = kind.nodes.flatMap((n) => n.extraPortMappings ?? []);
    const values = parse(readFileSync(join(REPO_ROOT, 'helm/kind.yaml'), 'utf8')) as { service: { type: string; nodePorts: Record<string, number> } };
    assert.equal(values.service.type, 'NodePort');
    const byHost = Object.fromEntries(mappings.map((m) => [m.hostPort, m.containerPort]));
    assert.deepEqual(byHost, { 25: values.service.nodePorts.mx, 587: values.service.nodePorts.submission, 465: values.service.nodePorts.submissions });
  });

  test('the Argo CD example installs this chart with the production preset, and NATS with helm/nats-values.yaml', () => {
    const apps = parseAllDocuments(readFileSync(join(REPO_ROOT, 'helm/argocd-application.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
    const stafette = find(apps, 'Application', 'stafette');
    assert.equal(stafette.spec.source.path, 'charts/stafette');
    for (const file of stafette.spec.source.helm.valueFiles as string[]) readFileSync(join(REPO_ROOT, stafette.spec.source.path, file));
    const nats = find(apps, 'Application', 'nats');
    assert.deepEqual(nats.spec.sources[0].helm.valueFiles, ['$values/helm/nats-values.yaml']);
  });

  test('helm lint passes, strictly, with the defaults and each preset', async () => {
    for (const [name, args] of Object.entries(presets)) {
      const result = await helm(['lint', '--strict', chart, ...args]);
      assert.equal(result.code, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });

  test('the MTA: one projected volume of the ConfigMap and every Secret shard, unprivileged ports behind 25/587/465', async () => {
    const list = objects(await template('mail', '--set', 'bundle.secretShards=3'));
    const mta = find(list, 'Deployment', 'stafette-mta');
    const pod = mta.spec.template.spec;
    const bundle = pod.volumes.find((v: { name: string }) => v.name === 'bundle');
    assert.deepEqual(bundle.projected.sources, [
      { configMap: { name: 'stafette-bundle', optional: true } },
      { secret: { name: 'stafette-bundle-secrets-0', optional: true } },
      { secret: { name: 'stafette-bundle-secrets-1', optional: true } },
      { secret: { name: 'stafette-bundle-secrets-2', optional: true } },
    ]);
    const container = pod.containers[0];
    assert.deepEqual(
      container.volumeMounts.find((m: { name: string }) => m.name === 'bundle'),
      { name: 'bundle', mountPath: '/etc/stafette/bundle', readOnly: true },
    );
    assert.ok(!container.volumeMounts.some((m: { subPath?: string }) => m.subPath), 'subPath mounts never update');
    assert.ok(container.args.includes('--config-dir=/etc/stafette/bundle'));
    assert.deepEqual(
      container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
      [
        ['mx', 2525],
        ['submission', 2587],
        ['submissions', 2465],
        ['metrics', 9090],
        ['mta-sts', 8443],
      ],
    );
    assert.ok(container.args.includes('--mta-sts-listen=0.0.0.0:8443'));
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    // docs/reliability.md §3 scenario 44: preStop sleep, then sessions in flight, then the NATS drain.
    const sleep = container.lifecycle.preStop.sleep.seconds as number;
    assert.ok(sleep >= 5 && sleep <= 10);
    const shutdown = Number(/--shutdown-timeout=(\d+)/.exec(container.args.join(' '))?.[1]);
    assert.ok(pod.terminationGracePeriodSeconds >= sleep + shutdown + 15);
    assert.equal(pod.automountServiceAccountToken, false, 'the MTA needs no API access');
    assert.ok(!JSON.stringify(pod).includes('persistentVolumeClaim'), 'no PVC: the queue is in NATS');

    const service = find(list, 'Service', 'stafette-mta');
    assert.deepEqual(
      service.spec.ports.map((p: { port: number; targetPort: string }) => [p.port, p.targetPort]),
      [
        [25, 'mx'],
        [587, 'submission'],
        [465, 'submissions'],
        [443, 'mta-sts'],
      ],
    );
    assert.ok(find(list, 'Deployment', 'stafette-operator').spec.template.spec.containers[0].args.includes('--mta-sts-served-by=mta'));
    assert.equal(find(list, 'PodDisruptionBudget', 'stafette-mta').spec.maxUnavailable, 1);
  });

  test('the queue seal: a random key in a Secret only the MTA pods mount, passed with --queue-seal-key-file', async () => {
    const list = objects(await template('mail'));
    const secret = find(list, 'Secret', 'stafette-mta-queue-seal');
    const keys = Buffer.from(secret.data.keys as string, 'base64').toString();
    assert.match(keys, /^[A-Za-z0-9]{64}\n$/);
    const again = find(objects(await template('mail')), 'Secret', 'stafette-mta-queue-seal');
    assert.notEqual(again.data.keys, secret.data.keys, 'random per install (lookup keeps it on upgrades)');
    const pod = find(list, 'Deployment', 'stafette-mta').spec.template.spec;
    const volume = pod.volumes.find((v: { name: string }) => v.name === 'queue-seal');
    assert.equal(volume.secret.secretName, 'stafette-mta-queue-seal');
    assert.deepEqual(volume.secret.items, [{ key: 'keys', path: 'keys' }]);
    assert.ok(pod.containers[0].args.includes('--queue-seal-key-file=/etc/stafette/queue-seal/keys'));
    const operator = find(list, 'Deployment', 'stafette-operator').spec.template.spec;
    assert.ok(!JSON.stringify(operator).includes('queue-seal'), 'the operator never sees the seal keys');
  });

  test('both pods meet PSS restricted: non-root uid 10001, read-only root, no capabilities, RuntimeDefault seccomp', async () => {
    const list = objects(await template('mail'));
    for (const name of ['stafette-operator', 'stafette-mta']) {
      const pod = find(list, 'Deployment', name).spec.template.spec;
      assert.deepEqual(pod.securityContext, {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const c of pod.containers) {
        assert.deepEqual(c.securityContext, {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        assert.ok(c.resources.requests.memory && c.resources.limits.memory, `${name} has memory requests and limits`);
      }
      const tmp = pod.volumes.find((v: { name: string }) => v.name === 'tmp');
      assert.ok(tmp.emptyDir.sizeLimit, 'a sized /tmp');
    }
  });

  test('the operator watches the release namespace only, unless watchAllNamespaces adds a ClusterRole', async () => {
    const scoped = objects(await template('mail'));
    const args = find(scoped, 'Deployment', 'stafette-operator').spec.template.spec.containers[0].args as string[];
    assert.deepEqual(args.slice(0, 4), ['operator', '--namespace=mail', '--bundle-namespace=mail', '--lease-namespace=mail']);
    assert.ok(args.includes('--bundle-shards=4'));
    assert.ok(!scoped.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
    const role = find(scoped, 'Role', 'stafette-operator');
    assert.ok(!JSON.stringify(role.rules).includes('"*"'), 'no wildcards');

    const wide = objects(await template('mail', '--set', 'operator.watchAllNamespaces=true'));
    assert.ok(find(wide, 'Deployment', 'stafette-operator').spec.template.spec.containers[0].args.includes('--all-namespaces'));
    find(wide, 'ClusterRole', 'stafette-operator-mail');
    find(wide, 'ClusterRoleBinding', 'stafette-operator-mail');
  });

  test('every flag the chart passes exists in `stafette operator --help` and `stafette mta --help`', async () => {
    const list = objects(
      await template(
        'mail',
        ...everything,
        '--set',
        'operator.dnsServers={1.1.1.1},mta.hostname=mx.example.com,mta.dnsServers=1.1.1.1,mta.maxConnectionsPerIp=5',
      ),
    );
    for (const [deployment, command] of [
      ['stafette-operator', 'operator'],
      ['stafette-mta', 'mta'],
    ] as const) {
      const { stdout: help } = await exec(join(REPO_ROOT, 'bin/stafette'), [command, '--help'], { cwd: REPO_ROOT });
      const args = find(list, 'Deployment', deployment).spec.template.spec.containers[0].args as string[];
      assert.equal(args[0], command);
      for (const arg of args.slice(1)) {
        const flag = /^--[a-z-]+/.exec(arg)?.[0];
        assert.ok(flag && new RegExp(`(^|[ ,])${flag}\\b`, 'm').test(help), `${command}: ${arg} is not an option of stafette ${command}`);
      }
    }
  });

  test("the image's own entrypoint (tini, then the CLI) is kept: the pods set no command", async () => {
    const list = objects(await template('mail'));
    for (const name of ['stafette-operator', 'stafette-mta']) {
      assert.equal(find(list, 'Deployment', name).spec.template.spec.containers[0].command, undefined, name);
    }
  });

  test("defaultDelivery: an LMTP host becomes the operator's --default-delivery (and an egress port); without a host it is none", async () => {
    const flag = (list: K8sObject[]) =>
      (find(list, 'Deployment', 'stafette-operator').spec.template.spec.containers[0].args as string[]).find((a) => a.startsWith('--default-delivery='));
    assert.equal(flag(objects(await template('mail'))), '--default-delivery=none');
    assert.equal(
      flag(objects(await template('mail', '--set', 'defaultDelivery.lmtp.host=dovecot.mail.svc.cluster.local'))),
      '--default-delivery=lmtp://dovecot.mail.svc.cluster.local:24',
    );
    assert.equal(
      flag(objects(await template('mail', '--set', 'defaultDelivery.lmtp.host=fd00::24,defaultDelivery.lmtp.port=2424'))),
      '--default-delivery=lmtp://[fd00::24]:2424',
    );
    const policy = find(
      objects(await template('mail', '--set', 'networkPolicy.enabled=true,defaultDelivery.lmtp.host=dovecot,defaultDelivery.lmtp.port=2424')),
      'NetworkPolicy',
      'stafette-mta',
    );
    assert.ok(
      (policy.spec.egress as { ports?: { port: number }[] }[]).some((rule) => rule.ports?.some((p) => p.port === 2424)),
      'no egress to the LMTP port',
    );
  });

  test('a grace period too short for preStop + sessions in flight is refused', async () => {
    const result = await helm(['template', 'stafette', chart, '--set', 'mta.terminationGracePeriodSeconds=30']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /terminationGracePeriodSeconds \(30\) must be at least/);
  });

  test('the presets: kind is one MTA on node ports; production is 3 MTAs, 2 operators, R3 NATS and NetworkPolicies', async () => {
    const kind = objects(await template('mail', ...presets.kind));
    assert.equal(find(kind, 'Deployment', 'stafette-mta').spec.replicas, 1);
    assert.deepEqual(
      find(kind, 'Service', 'stafette-mta').spec.ports.map((p: { nodePort: number }) => p.nodePort),
      [30025, 30587, 30465],
    );
    assert.ok(find(kind, 'Deployment', 'stafette-mta').spec.template.spec.containers[0].args.includes('--queue-replicas=1'));

    const production = objects(await template('mail', ...presets.production));
    assert.equal(find(production, 'Deployment', 'stafette-mta').spec.replicas, 3);
    assert.equal(find(production, 'Deployment', 'stafette-operator').spec.replicas, 2);
    assert.ok(find(production, 'Deployment', 'stafette-mta').spec.template.spec.containers[0].args.includes('--queue-replicas=3'));
    find(production, 'NetworkPolicy', 'stafette-mta');
    find(production, 'PodDisruptionBudget', 'stafette-operator');
    const nats = parse(readFileSync(join(REPO_ROOT, 'helm/nats-values.yaml'), 'utf8')) as {
      config: { cluster: { replicas: number }; jetstream: { fileStore: { enabled: boolean }; memoryStore: { enabled: boolean } } };
    };
    assert.equal(nats.config.cluster.replicas, 3);
    assert.equal(nats.config.jetstream.fileStore.enabled, true);
    assert.equal(nats.config.jetstream.memoryStore.enabled, false);
  });

  test('PodDisruptionBudgets let a drain evict pods that are not Ready (unhealthyPodEvictionPolicy: AlwaysAllow)', async () => {
    const list = objects(await template('mail', '--set', 'operator.replicas=2'));
    for (const name of ['stafette-mta', 'stafette-operator']) {
      assert.equal(find(list, 'PodDisruptionBudget', name).spec.unhealthyPodEvictionPolicy, 'AlwaysAllow', name);
    }
  });

  test("the operator's and the MTA's replicas are spread over nodes and zones, counting only the current ReplicaSet", async () => {
    const list = objects(await template('mail', '--set', 'operator.replicas=2'));
    for (const [name, component] of [
      ['stafette-operator', 'operator'],
      ['stafette-mta', 'mta'],
    ] as const) {
      const constraints = find(list, 'Deployment', name).spec.template.spec.topologySpreadConstraints as {
        topologyKey: string;
        whenUnsatisfiable: string;
        matchLabelKeys: string[];
        labelSelector: { matchLabels: Record<string, string> };
      }[];
      assert.deepEqual(
        constraints.map((c) => [c.topologyKey, c.whenUnsatisfiable]),
        [
          ['kubernetes.io/hostname', 'ScheduleAnyway'],
          ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
        ],
        name,
      );
      for (const c of constraints) {
        assert.deepEqual(c.matchLabelKeys, ['pod-template-hash']);
        assert.equal(c.labelSelector.matchLabels['app.kubernetes.io/component'], component);
      }
    }
    const off = objects(await template('mail', '--set', 'operator.spreadOverNodes=false,mta.spreadOverNodes=false'));
    assert.equal(find(off, 'Deployment', 'stafette-operator').spec.template.spec.topologySpreadConstraints, undefined);
    assert.equal(find(off, 'Deployment', 'stafette-mta').spec.template.spec.topologySpreadConstraints, undefined);
  });

  test("monitors only where the Prometheus Operator's API is served, unless requireCRDs", async () => {
    const kinds = async (...args: string[]) => objects(await template('mail', '--set', 'monitoring.enabled=true', ...args)).map((o) => o.kind);
    assert.ok(!(await kinds()).includes('PodMonitor'), 'no API, no PodMonitor');
    assert.equal((await kinds('--api-versions', 'monitoring.coreos.com/v1/PodMonitor')).filter((k) => k === 'PodMonitor').length, 2);
    assert.equal((await kinds('--set', 'monitoring.requireCRDs=true')).filter((k) => k === 'PodMonitor').length, 2);
    const serviceMonitors = await kinds('--set', 'monitoring.kind=ServiceMonitor');
    assert.ok(!serviceMonitors.includes('ServiceMonitor'));
    assert.equal(serviceMonitors.filter((k) => k === 'Service').length, 1, 'the MTA Service only, no metrics Services');
  });

  test('the MTA NetworkPolicy never lets mail ports reach the cluster or the metadata endpoint', async () => {
    const list = objects(await template('mail', '--set', 'networkPolicy.enabled=true'));
    const policy = find(list, 'NetworkPolicy', 'stafette-mta');
    const out = policy.spec.egress.find((r: { ports: { port: number }[] }) => r.ports.some((p) => p.port === 25));
    const v4 = out.to.find((t: { ipBlock: { cidr: string } }) => t.ipBlock.cidr === '0.0.0.0/0');
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.169.254/32']) assert.ok(v4.ipBlock.except.includes(cidr), cidr);
    const nats = policy.spec.egress.find((r: { ports: { port: number }[] }) => r.ports.some((p) => p.port === 4222));
    assert.deepEqual(nats.to[0].podSelector.matchLabels, { 'app.kubernetes.io/name': 'nats' });
  });
});

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
