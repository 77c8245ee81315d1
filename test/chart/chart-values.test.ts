// What the Helm chart's values turn into (offline): delivery targets, the default delivery,
// the shutdown grace, the presets, NATS role users, disruption budgets, spreading, monitors
// and the NetworkPolicies.
// Rendered manifests are free-form YAML of dozens of kinds; the assertions below are what
// checks their shape, so the objects stay loosely typed in this file only.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { chart, find, helm, objects, presets, template, type K8sObject } from './chart-template.ts';

describe('the Helm chart, offline', () => {
  test('deliveryTargets: the same allow-lists go to the operator and the MTA as flags; the MTA also allows the default LMTP host', async () => {
    const list = objects(
      await template(
        'mail',
        '--set',
        'deliveryTargets.lmtpHosts={*.dovecot.svc.cluster.local},deliveryTargets.maildirRoot=/var/mail,deliveryTargets.webhookAllowNetworks={10.1.2.0/24}',
        '--set',
        'defaultDelivery.lmtp.host=dovecot.mail',
      ),
    );
    const targetFlags = (name: string) =>
      (find(list, 'Deployment', name).spec.template.spec.containers[0].args as string[]).filter((a) =>
        /^--(allow-lmtp-host|maildir-root|webhook-allow-network)=/.test(a),
      );
    const common = ['--allow-lmtp-host=*.dovecot.svc.cluster.local', '--maildir-root=/var/mail', '--webhook-allow-network=10.1.2.0/24'];
    assert.deepEqual(targetFlags('stafette-operator'), common);
    assert.deepEqual(targetFlags('stafette-mta'), [...common, '--allow-lmtp-host=dovecot.mail']);
    const defaults = objects(await template('mail'));
    for (const name of ['stafette-operator', 'stafette-mta']) {
      const args = find(defaults, 'Deployment', name).spec.template.spec.containers[0].args as string[];
      assert.deepEqual(
        args.filter((a) => /^--(allow-lmtp-host|maildir-root|webhook-allow-network)=/.test(a)),
        [],
        name,
      );
    }
  });

  test('mta.maxHeapMiB and mta.maxSemiSpaceMiB: the MTA container gets them as NODE_OPTIONS; 0 and 0 leave V8 its own sizing', async () => {
    const nodeOptions = (list: K8sObject[]) =>
      ((find(list, 'Deployment', 'stafette-mta').spec.template.spec.containers[0].env as { name: string; value?: string }[]) ?? []).filter(
        (e) => e.name === 'NODE_OPTIONS',
      );
    assert.deepEqual(nodeOptions(objects(await template('mail'))), [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=256 --max-semi-space-size=16' }]);
    assert.deepEqual(nodeOptions(objects(await template('mail', '--set', 'mta.maxSemiSpaceMiB=0'))), [
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=256' },
    ]);
    assert.deepEqual(nodeOptions(objects(await template('mail', '--set', 'mta.maxHeapMiB=0,mta.maxSemiSpaceMiB=0'))), []);
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

  test('NATS role users: the MTA gets the intake and delivery passwords (never the admin one) from one generated Secret; TLS files from a Secret', async () => {
    const list = objects(await template('mail', '--set', 'nats.roleUsers.enabled=true,nats.tls.enabled=true,nats.tls.secretName=nats-tls'));
    const secret = find(list, 'Secret', 'stafette-nats-users');
    assert.deepEqual(Object.keys(secret.data as object).sort(), ['admin-password', 'delivery-password', 'intake-password']);
    // nats-server parses its $VARIABLE references as config values: a letter first keeps each a string.
    for (const value of Object.values(secret.data as Record<string, string>)) {
      assert.match(Buffer.from(value, 'base64').toString(), /^[A-Za-z][A-Za-z0-9]{31}$/);
    }
    assert.equal((secret.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/resource-policy'], 'keep');
    const container = find(list, 'Deployment', 'stafette-mta').spec.template.spec.containers[0];
    const env = Object.fromEntries((container.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.STAFETTE_NATS_INTAKE_USER, 'stafette-intake');
    assert.equal(env.STAFETTE_NATS_DELIVERY_USER, 'stafette-delivery');
    assert.deepEqual(env.STAFETTE_NATS_DELIVERY_PASSWORD, { secretKeyRef: { name: 'stafette-nats-users', key: 'delivery-password' } });
    assert.ok(!JSON.stringify(container.env).includes('admin-password'));
    assert.ok(container.args.includes('--nats-ca=/etc/stafette/nats-tls/ca.crt'));
    assert.ok(!container.args.some((a: string) => a.startsWith('--nats-cert')));
    // An existing Secret replaces the generated one.
    const own = objects(await template('mail', '--set', 'nats.roleUsers.enabled=true,nats.roleUsers.existingSecret=mine'));
    assert.ok(!own.some((o) => o.kind === 'Secret' && o.metadata.name === 'stafette-nats-users'));
    assert.match(JSON.stringify(find(own, 'Deployment', 'stafette-mta').spec.template.spec.containers[0].env), /"name":"mine","key":"intake-password"/);
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

  test("DNS egress is 53 plus networkPolicy.dnsPorts, the port the DNS pods listen on behind the Service's 53", async () => {
    const dnsPorts = async (...args: string[]) => {
      const list = objects(await template('mail', '--set', 'networkPolicy.enabled=true', '--set', 'operator.dnsServers={10.96.0.10}', ...args));
      type Rule = { ports: { port: number; protocol: string }[] };
      return ['stafette-mta', 'stafette-operator'].map((name): string[] => {
        const egress = find(list, 'NetworkPolicy', name).spec.egress as Rule[];
        const rule = egress.find((r) => r.ports.some((p) => p.port === 53));
        return (rule?.ports ?? []).map((p) => `${p.port}/${p.protocol}`);
      });
    };
    const only53 = ['53/UDP', '53/TCP'];
    assert.deepEqual(await dnsPorts(), [only53, only53]);
    const with5353 = [...only53, '5353/UDP', '5353/TCP'];
    assert.deepEqual(await dnsPorts('--set', 'networkPolicy.dnsPorts={53,5353}'), [with5353, with5353]);
  });

  test('the delivery memory budget, connections per listener and deliveries per job are the MTA defaults unless set, and then flags', async () => {
    const budgetFlags = async (...args: string[]) =>
      (find(objects(await template('mail', ...args)), 'Deployment', 'stafette-mta').spec.template.spec.containers[0].args as string[]).filter((a) =>
        a.startsWith('--delivery-memory-budget-mib'),
      );
    assert.deepEqual(await budgetFlags(), []);
    assert.deepEqual(await budgetFlags('--set', 'mta.deliveryMemoryBudgetMiB=128'), ['--delivery-memory-budget-mib=128']);
    const limitFlags = async (...args: string[]) =>
      (find(objects(await template('mail', ...args)), 'Deployment', 'stafette-mta').spec.template.spec.containers[0].args as string[]).filter((a) =>
        /^--max-(connections|deliveries)=/.test(a),
      );
    assert.deepEqual(await limitFlags(), []);
    assert.deepEqual(await limitFlags('--set', 'mta.maxConnections=500,mta.maxDeliveries=5'), ['--max-connections=500', '--max-deliveries=5']);
  });
});
