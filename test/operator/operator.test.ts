// The operator against a real kube-apiserver: `kubectl apply -f examples/` is enough to
// run a domain, problems surface as conditions, and the bundle keeps serving everything
// that is valid.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { readManifests } from '../../cli/manifests.ts';
import { decodeBundleFiles } from '../../bundle/files.ts';
import { checkBundle } from '../../bundle/check.ts';
import type { Bundle } from '../../bundle/schema.ts';
import { render } from '../../operator/src/render/render.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { apply, getJson, runOperator, waitForCondition } from './operator-fixture.ts';

async function readBundle(kube: KubeApiServer, namespace: string) {
  const files = new Map<string, Buffer>();
  const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', namespace]);
  for (const [k, v] of Object.entries(cm.binaryData)) files.set(k, Buffer.from(v, 'base64'));
  for (let i = 0; i < 2; i += 1) {
    const s = await getJson<{ data: Record<string, string> }>(kube, ['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', namespace]);
    for (const [k, v] of Object.entries(s.data)) files.set(k, Buffer.from(v, 'base64'));
  }
  const decoded = decodeBundleFiles(files);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  const checked = checkBundle(decoded.config, decoded.secrets);
  assert.ok(checked.ok, checked.ok ? '' : checked.errors.join('\n'));
  return checked;
}

describe('the operator', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('examples/ become Ready, with DKIM Secrets, the bundle and the DNS records stafette render prints', async (t) => {
    const ns = 'examples';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    const operator = await runOperator(kube, ns);
    t.after(() => operator.stop());

    for (const r of ['maildomain/example-com', 'mailbox/alice', 'mailbox/bob', 'relay/partner']) await waitForCondition(kube, r, ns, 'True');
    const domain = await getJson<{
      status: {
        dkim: { signingSelectors: string; selectors: { name: string; secretName: string }[] };
        dnsRecords: { name: string; type: string; value: string }[];
        observedGeneration: number;
      };
    }>(kube, ['get', 'maildomain/example-com', '-n', ns]);
    assert.equal(domain.status.dkim.signingSelectors, 's2026');
    assert.equal(domain.status.observedGeneration, 1);
    const secret = await getJson<{ immutable: boolean; metadata: { ownerReferences: { kind: string; name: string }[] }; data: Record<string, string> }>(kube, [
      'get',
      'secret',
      domain.status.dkim.selectors[0]?.secretName ?? '',
      '-n',
      ns,
    ]);
    assert.equal(secret.immutable, true);
    assert.deepEqual(
      secret.metadata.ownerReferences.map((o) => `${o.kind}/${o.name}`),
      ['MailDomain/example-com'],
    );

    const { bundle, secrets } = await readBundle(kube, ns);
    assert.deepEqual(
      bundle.domains.map((d) => d.domain),
      ['example.com'],
    );
    assert.deepEqual(
      bundle.mailboxes.map((m) => [m.address, m.login]),
      [
        ['alice@example.com', true],
        ['bob@example.com', true],
      ],
    );
    assert.deepEqual(
      bundle.aliases.map((a) => a.address),
      ['a.smith@example.com', 'abuse@example.com', 'postmaster@example.com', 'team@example.com'],
    );
    assert.deepEqual(
      bundle.relays.map((r) => r.id),
      [`${ns}/partner`],
    );
    assert.match(secrets.passwords['alice@example.com'] ?? '', /^\$scrypt\$/);
    assert.deepEqual(Object.keys(secrets.relayCredentials), [`${ns}/partner`]);

    // The same records an offline render prints, given the same key.
    const manifests = readManifests('examples');
    const privateKeyPem = Buffer.from(secret.data['private.pem'] ?? '', 'base64').toString();
    const { publicKeyRecordValue } = await import('../../operator/src/dkim/keys.ts');
    const offline = render({
      ...manifests,
      dkimKeys: [{ domain: 'example.com', selector: 's2026', algorithm: 'rsa-sha256', privateKeyPem, publicKey: publicKeyRecordValue(privateKeyPem) }],
      hashPassword: () => '$x',
    });
    assert.deepEqual(
      domain.status.dnsRecords.map((r) => [r.name, r.type, r.value]),
      offline.domains[0]?.dnsRecords.map((r) => [r.name, r.type, r.value]),
    );
  });

  test('a Mailbox for an unknown domain, a missing password Secret and a duplicate address are conditions; the rest is served', async (t) => {
    const ns = 'negative';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    await apply(
      kube,
      ns,
      `
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: stranger}
spec: {address: stranger@unknown.example}
---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: carol}
spec: {address: carol@example.com, passwordSecretRef: {name: carol-password}}
`,
    );
    const operator = await runOperator(kube, ns);
    t.after(() => operator.stop());
    await waitForCondition(kube, 'mailbox/alice', ns, 'True');
    await apply(
      kube,
      ns,
      `
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: alice-again}
spec: {address: alice@example.com}
`,
    );
    const stranger = await waitForCondition(kube, 'mailbox/stranger', ns, 'False', 'DomainNotFound');
    assert.match(stranger.message, /no MailDomain serves unknown\.example/);
    const carol = await waitForCondition(kube, 'mailbox/carol', ns, 'False', 'PasswordSecretNotFound');
    assert.match(carol.message, /Secret carol-password not found/);
    const again = await waitForCondition(kube, 'mailbox/alice-again', ns, 'False', 'AddressConflict');
    assert.match(again.message, /already claimed by Mailbox negative\/alice/);

    const { bundle } = await waitFor('the bundle with carol', async () => {
      const b = await readBundle(kube, ns);
      return b.bundle.mailboxes.some((m: Bundle['mailboxes'][number]) => m.address === 'carol@example.com') ? b : undefined;
    });
    assert.deepEqual(
      bundle.mailboxes.map((m) => [m.address, m.login, m.source.name]),
      [
        ['alice@example.com', true, 'alice'],
        ['bob@example.com', true, 'bob'],
        ['carol@example.com', false, 'carol'],
      ],
    );

    // Creating the Secret is noticed and carol may log in.
    await kube.ok(['create', 'secret', 'generic', 'carol-password', '-n', ns, '--from-literal=password=pw']);
    await kube.ok(['label', 'secret', 'carol-password', '-n', ns, 'stafette.dev/secret-use=password']);
    await waitForCondition(kube, 'mailbox/carol', ns, 'True');
    await waitFor('carol can log in', async () => (await readBundle(kube, ns)).bundle.mailboxes.find((m) => m.address === 'carol@example.com')?.login === true);
  });

  test('deleting a MailDomain removes it and its mailboxes from the bundle', async (t) => {
    const ns = 'deletion';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    const operator = await runOperator(kube, ns);
    t.after(() => operator.stop());
    await waitForCondition(kube, 'maildomain/example-com', ns, 'True');
    await kube.ok(['delete', 'maildomain/example-com', '-n', ns, '--wait=false']);
    await waitFor('example.com gone from the bundle', async () => (await readBundle(kube, ns)).bundle.domains.length === 0);
    const mailbox = await waitForCondition(kube, 'mailbox/alice', ns, 'False', 'DomainNotFound');
    assert.match(mailbox.message, /example\.com/);
    const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', ns]);
    assert.ok(gunzipSync(Buffer.from(Object.values(cm.binaryData)[0] ?? '', 'base64')).length > 0);
  });
});
