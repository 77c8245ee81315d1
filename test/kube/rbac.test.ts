// RBAC is really enforced by the harness API server, so the operator's RBAC tests can
// trust it: a ServiceAccount bound to a Role may do exactly what the Role grants, both
// when the admin impersonates it (kubectl --as) and when it presents its own token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiVersion } from '../../crds/src/index.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';

const ns = 'rbac';
const other = 'rbac-other';
const sa = `system:serviceaccount:${ns}:operator`;

const role = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: maildomain-reader, namespace: ${ns}}
rules:
  - apiGroups: [stafette.dev]
    resources: [maildomains]
    verbs: [get, list, watch]
  - apiGroups: [stafette.dev]
    resources: [maildomains/status]
    verbs: [get, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: operator-reads-maildomains, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: maildomain-reader}
subjects:
  - {kind: ServiceAccount, name: operator, namespace: ${ns}}
`;

const maildomain = (namespace: string) => `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: example, namespace: ${namespace}}
spec: {domain: example.com}
`;

describe('RBAC on the harness API server', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['create', 'namespace', other]);
    await kube.ok(['create', 'serviceaccount', 'operator', '-n', ns]);
    await kube.ok(['apply', '--server-side', '-f', '-'], { input: role });
    await kube.ok(['apply', '--server-side', '-f', '-'], { input: maildomain(ns) + '---' + maildomain(other) });
  });
  after(async () => {
    await kube?.stop();
  });

  const forbidden = (stderr: string, verb: string, resource: string, group: string, namespace: string) =>
    assert.ok(
      stderr.includes(`User "${sa}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`),
      `expected a Forbidden for ${verb} ${resource} in ${namespace}, got:\n${stderr}`,
    );

  test('impersonating the ServiceAccount, the verbs its Role grants are allowed', async () => {
    const list = await kube.run(['get', 'maildomains', '-n', ns, '-o', 'name'], { as: sa });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim(), 'maildomain.stafette.dev/example');
    // kubectl reads the status subresource before patching it, hence get on maildomains/status.
    const status = await kube.run(
      ['patch', 'maildomain.stafette.dev', 'example', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}'],
      { as: sa },
    );
    assert.equal(status.code, 0, status.stderr);
  });

  test('impersonating the ServiceAccount, verbs and resources its Role does not grant are Forbidden', async () => {
    const del = await kube.run(['delete', 'maildomain.stafette.dev', 'example', '-n', ns], { as: sa });
    assert.notEqual(del.code, 0);
    forbidden(del.stderr, 'delete', 'maildomains', 'stafette.dev', ns);

    const spec = await kube.run(['patch', 'maildomain.stafette.dev', 'example', '-n', ns, '--type=merge', '-p', '{"spec":{"hostname":"mx.example.com"}}'], {
      as: sa,
    });
    assert.notEqual(spec.code, 0, 'patching spec needs patch on maildomains, not only maildomains/status');
    forbidden(spec.stderr, 'patch', 'maildomains', 'stafette.dev', ns);

    const secrets = await kube.run(['get', 'secrets', '-n', ns], { as: sa });
    assert.notEqual(secrets.code, 0);
    forbidden(secrets.stderr, 'list', 'secrets', '', ns);
  });

  test('a Role grants nothing outside its own namespace', async () => {
    const result = await kube.run(['get', 'maildomains', '-n', other], { as: sa });
    assert.notEqual(result.code, 0);
    forbidden(result.stderr, 'list', 'maildomains', 'stafette.dev', other);
  });

  test('kubectl auth can-i agrees with the real requests', async () => {
    const can = async (...args: string[]) => (await kube.run(['auth', 'can-i', ...args], { as: sa })).stdout.trim();
    assert.equal(await can('list', 'maildomains.stafette.dev', '-n', ns), 'yes');
    assert.equal(await can('delete', 'maildomains.stafette.dev', '-n', ns), 'no');
    assert.equal(await can('list', 'maildomains.stafette.dev', '-n', other), 'no');
  });

  test("the ServiceAccount's own token (TokenRequest) is authenticated and held to the same Role", async () => {
    // The token is a credential: it is never printed, only used.
    const token = (await kube.ok(['create', 'token', 'operator', '-n', ns, '--duration=10m'])).trim();
    const auth = { token };
    const mine = await kube.request({ path: `/apis/${apiVersion}/namespaces/${ns}/maildomains` }, auth);
    assert.equal(mine.status, 200, mine.body);
    const theirs = await kube.request({ path: `/apis/${apiVersion}/namespaces/${other}/maildomains` }, auth);
    assert.equal(theirs.status, 403);
    const secrets = await kube.request({ path: `/api/v1/namespaces/${ns}/secrets` }, auth);
    assert.equal(secrets.status, 403);
    const review = await kube.request(
      {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      },
      auth,
    );
    assert.equal(review.status, 201, review.body);
    assert.equal((JSON.parse(review.body) as { status: { userInfo: { username: string } } }).status.userInfo.username, sa);
  });

  test('the ServiceAccount may not impersonate anyone itself (no impersonate verb)', async () => {
    const token = (await kube.ok(['create', 'token', 'operator', '-n', ns, '--duration=10m'])).trim();
    const res = await kube.request({ path: '/api/v1/namespaces', headers: { 'Impersonate-User': 'stafette-admin' } }, { token });
    assert.equal(res.status, 403);
    assert.match((JSON.parse(res.body) as { message: string }).message, /cannot impersonate resource "users"/);
  });

  test('a request with a forged token is refused as unauthenticated (401)', async () => {
    const res = await kube.request({ path: `/apis/${apiVersion}/namespaces/${ns}/maildomains` }, { token: 'not-a-token' });
    assert.equal(res.status, 401);
  });
});
