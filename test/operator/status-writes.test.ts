// The operator's status writes (kube/client.ts applyStatus) on a real kube-apiserver: they
// are sent on the shared dispatcher past client-node's request pipeline, so what that
// pipeline did must still hold: the kubeconfig's identity (here an impersonated user),
// server-side apply with the operator's field manager, and a refusal thrown as client-node's
// ApiException with the API server's code and message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { describeApiError, fieldManager, isRefused, isStatus, kubeClient } from '../../operator/src/kube/client.ts';
import { shareOneDispatcher } from '../../operator/src/kube/connections.ts';
import { apply, getJson, kubeConfigFor } from './operator-fixture.ts';

const ns = 'stafette-status-writes';
let kube: KubeApiServer;

before(async () => {
  kube = await startKubeApiServer();
  await kube.ok(['create', 'namespace', ns]);
  await apply(kube, ns, 'apiVersion: stafette.dev/v1alpha1\nkind: MailDomain\nmetadata: {name: example-com}\nspec: {domain: example.com}');
});
after(() => kube.stop());

const status = {
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'False', reason: 'Reconciling', message: 'test', lastTransitionTime: '2026-01-01T00:00:00Z' }],
};

test('a status is applied by the operator field manager on the status subresource', async () => {
  const kc = kubeConfigFor(kube);
  shareOneDispatcher(kc);
  await kubeClient(kc).applyStatus({ kind: 'MailDomain', namespace: ns, name: 'example-com' }, status);
  const stored = await getJson<{ status: typeof status; metadata: { managedFields: { manager: string; subresource?: string; operation: string }[] } }>(kube, [
    'get',
    'maildomain',
    'example-com',
    '-n',
    ns,
    '--show-managed-fields',
  ]);
  assert.deepEqual(stored.status, status);
  assert.ok(stored.metadata.managedFields.some((f) => f.manager === fieldManager && f.subresource === 'status' && f.operation === 'Apply'));
});

test('a missing resource is a 404 ApiException, and an identity without RBAC a 403 naming the user', async () => {
  const admin = kubeClient(kubeConfigFor(kube));
  await assert.rejects(admin.applyStatus({ kind: 'MailDomain', namespace: ns, name: 'absent' }, status), (error: unknown) => isStatus(error, 404));

  const nobody = kubeClient(kubeConfigFor(kube, 'system:serviceaccount:stafette-status-writes:nobody'));
  await assert.rejects(nobody.applyStatus({ kind: 'MailDomain', namespace: ns, name: 'example-com' }, status), (error: unknown) => {
    assert.ok(isStatus(error, 403) && isRefused(error), String(error));
    assert.match(describeApiError(error), /^403: .*system:serviceaccount:stafette-status-writes:nobody/);
    return true;
  });
});
