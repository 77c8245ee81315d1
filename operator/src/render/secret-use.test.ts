// Only Secrets marked for their use are read for a resource (docs/trust-model.md "Secrets and
// validation"); any other is reported SecretNotMarked on the reference, and nothing of it is used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SecretUse } from '../../../crds/src/index.ts';
import { render } from './render.ts';
import { secretUseRefusal } from './secret-use.ts';
import { domain, input, key, mailbox, relay, secret } from './test-resources.ts';

const exampleCom = () => domain('example-com', { domain: 'example.com', inbound: { aliases: [{ name: 'postmaster', to: ['alice@example.com'] }] } });
const keys = [key('example.com', 'stafette')];

test('a password Secret that is not marked is not read: no login, SecretNotMarked on the reference', () => {
  const alice = mailbox('alice', { address: 'alice@example.com', passwordSecretRef: { name: 'pw' } });
  const result = render(input({ domains: [exampleCom()], mailboxes: [alice], secrets: [secret('pw', { password: 'x' }, null)], dkimKeys: keys }));
  assert.deepEqual(result.secrets.passwords, {});
  assert.equal(result.bundle.mailboxes[0]?.login, false);
  const issue = result.issues.find((i) => i.name === 'alice');
  assert.equal(issue?.reason, 'SecretNotMarked');
  assert.equal(issue?.field, 'spec.passwordSecretRef.name');
  assert.match(issue?.message ?? '', /label it stafette\.dev\/secret-use=password/);
});

test('a relay whose Secret is marked for another use keeps no credentials, so nothing is sent to its host', () => {
  const r = relay('partner', { host: 'smtp.partner.example', authSecretRef: { name: 'hook' }, default: true });
  const result = render(
    input({ domains: [exampleCom()], relays: [r], secrets: [secret('hook', { username: 'u', password: 'p' }, 'webhook')], dkimKeys: keys }),
  );
  assert.deepEqual(result.secrets.relayCredentials, {});
  assert.equal(result.bundle.relays[0]?.auth, true, 'the relay still needs AUTH, so its mail waits instead of leaving unauthenticated');
  assert.deepEqual(
    result.issues.filter((i) => i.name === 'partner').map((i) => [i.reason, i.field]),
    [['SecretNotMarked', 'spec.authSecretRef.name']],
  );
});

test('marked Secrets are read for their own use only', () => {
  const marked = secret('s', { k: 'v' }, 'relay-auth');
  for (const use of ['relay-auth', 'webhook', 'password', 'tls'] as SecretUse[]) {
    assert.equal(secretUseRefusal(marked, use) === null, use === 'relay-auth', use);
  }
});

test("service-account tokens, DKIM keys and the operator's own Secrets are never used, even when marked", () => {
  const marked = (labels: Record<string, string>, type?: string) => ({
    ...secret('s', { k: 'v' }, 'relay-auth'),
    type,
    metadata: { name: 's', namespace: 'mail', labels: { 'stafette.dev/secret-use': 'relay-auth', ...labels } },
  });
  assert.match(secretUseRefusal(marked({}, 'kubernetes.io/service-account-token'), 'relay-auth') ?? '', /service-account token/);
  assert.match(secretUseRefusal(marked({ 'stafette.dev/maildomain': 'example-com' }), 'relay-auth') ?? '', /DKIM key/);
  assert.match(secretUseRefusal(marked({ 'app.kubernetes.io/managed-by': 'stafette-operator' }), 'relay-auth') ?? '', /operator's own/);
});
