// What the Helm chart renders for its pods (offline): the MTA's volumes and ports, the queue
// seal, Pod Security "restricted", the operator's watch scope, the flags each command takes
// and the image's entrypoint.
// Rendered manifests are free-form YAML of dozens of kinds; the assertions below are what
// checks their shape, so the objects stay loosely typed in this file only.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { everything, exec, find, objects, template } from './chart-template.ts';

describe('the Helm chart, offline', () => {
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

  test('the queue seal: a random key in a Secret only the MTA pods mount (or mta.queueSeal.existingSecret), passed with --queue-seal-key-file', async () => {
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
    // An existing Secret (for `helm template`, where lookup cannot keep a generated key) replaces it.
    const own = objects(await template('mail', '--set', 'mta.queueSeal.existingSecret=my-seal'));
    assert.ok(!own.some((o) => o.kind === 'Secret' && o.metadata.name === 'stafette-mta-queue-seal'));
    const ownPod = find(own, 'Deployment', 'stafette-mta').spec.template.spec;
    assert.equal(ownPod.volumes.find((v: { name: string }) => v.name === 'queue-seal').secret.secretName, 'my-seal');
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
});
