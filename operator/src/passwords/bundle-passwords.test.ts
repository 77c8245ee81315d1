// The render with passwords: a first pass the domains may act on before any hash is made,
// then the render with every hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passwordHashProblem, verifyPasswordAsync } from '../../../bundle/password-hash.ts';
import { issueReasons } from '../../../crds/src/index.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { maxObjectDataBytes } from '../../../bundle/files.ts';
import { exampleCom } from '../render/render-expectations.ts';
import type { RenderResult } from '../render/render.ts';
import { input, mailbox, secret } from '../render/test-resources.ts';
import { BundlePasswords, pendingHash } from './bundle-passwords.ts';

/** The two calls the password index makes: get and apply, on objects kept in memory. */
function memoryClient(): KubeClient {
  const objects = new Map<string, KubeObject>();
  const key = (o: { kind: string; namespace?: string; name: string }) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  return {
    get: (ref) => Promise.resolve(objects.get(key(ref)) ?? null),
    apply: <T extends KubeObject>(object: T) => {
      objects.set(key({ kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name }), object);
      return Promise.resolve(object);
    },
  } as Partial<KubeClient> as KubeClient;
}

const target = { namespace: 'mail', name: 'stafette-bundle', shards: 2 };

test('the placeholder of a pending hash is one the bundle check accepts, and no password verifies against it', async () => {
  assert.equal(passwordHashProblem(pendingHash), null);
  assert.equal(await verifyPasswordAsync(pendingHash, ''), false);
});

test('the first pass is handed over before hashing, holds nothing out, and says what the hashed render says', async () => {
  const passwords = new BundlePasswords(memoryClient(), target);
  const { hashPassword: _plain, ...base } = input({
    domains: [exampleCom()],
    mailboxes: [
      mailbox('alice', { address: 'alice@example.com', passwordSecretRef: { name: 'pw-alice' } }),
      mailbox('bob', { address: 'bob@example.com', passwordSecretRef: { name: 'pw-bob' } }),
    ],
    secrets: [secret('pw-alice', { password: 'alice-pw' }, 'password'), secret('pw-bob', { password: 'bob-pw' }, 'password')],
  });
  const renderInput = { ...base, objectLimits: { shards: target.shards, maxBytes: maxObjectDataBytes } };
  const firstPasses: RenderResult[] = [];
  const result = await passwords.render(renderInput, (r) => firstPasses.push(r));

  assert.equal(firstPasses.length, 1);
  const [first] = firstPasses as [RenderResult];
  assert.deepEqual(Object.values(first.secrets.passwords), [pendingHash, pendingHash]);
  assert.deepEqual(
    first.issues.filter((i) => i.reason === issueReasons.bundleCheckFailed),
    [],
  );
  assert.deepEqual(first.issues, result.issues);
  assert.deepEqual(first.domains, result.domains);
  assert.deepEqual(first.bundle.mailboxes, result.bundle.mailboxes);
  assert.equal(await verifyPasswordAsync(result.secrets.passwords['alice@example.com'] as string, 'alice-pw'), true);

  // Every hash known: no first pass.
  await passwords.render(renderInput, (r) => firstPasses.push(r));
  assert.equal(firstPasses.length, 1);
});
