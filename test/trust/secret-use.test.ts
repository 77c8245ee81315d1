// Secret references are not a confused deputy (issue 12, items 3 and 10; docs/trust-model.md
// "Secrets and validation"): a Relay that names a Secret not marked stafette.dev/secret-use=relay-auth
// is not Ready (unmarked: not in the operator's label-selected cache; marked for another use:
// SecretNotMarked), the value appears in no bundle object, and its relay host (a real SMTP server
// that wants AUTH) never gets a connection carrying it. Marked for relay-auth, the same Secret works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBundle } from '../../bundle/check.ts';
import { decodeBundleFiles } from '../../bundle/files.ts';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { planRecipients } from '../../mta/src/delivery/routing.ts';
import { createRemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { apply, getJson, runOperator, waitForCondition } from '../operator/operator-fixture.ts';
import { testAttempt, testMessage } from '../transports/transport-fixtures.ts';

const ns = 'trust-secrets';
const password = 'value-the-relay-must-never-see';

async function bundleObjects(kube: KubeApiServer): Promise<{ raw: string; files: Map<string, Buffer> }> {
  // The operator writes the ConfigMap and the Secret shards one after another, so a read
  // between two writes sees two revisions; read again until they agree, as an MTA waits.
  return waitFor('a consistent bundle (config and secret shards of one revision)', async () => {
    const files = new Map<string, Buffer>();
    const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', ns]);
    for (const [k, v] of Object.entries(cm.binaryData)) files.set(k, Buffer.from(v, 'base64'));
    for (let i = 0; i < 2; i += 1) {
      const s = await getJson<{ data?: Record<string, string> }>(kube, ['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', ns]);
      for (const [k, v] of Object.entries(s.data ?? {})) files.set(k, Buffer.from(v, 'base64'));
    }
    const decoded = decodeBundleFiles(files);
    return decoded.ok ? { raw: JSON.stringify([decoded.config, decoded.secrets]), files } : undefined;
  });
}

async function loadedBundle(kube: KubeApiServer) {
  const { files } = await bundleObjects(kube);
  const decoded = decodeBundleFiles(files);
  assert.ok(decoded.ok);
  const checked = checkBundle(decoded.config, decoded.secrets);
  assert.ok(checked.ok, checked.ok ? '' : checked.errors.join('\n'));
  return { bundle: checked.bundle, secrets: checked.secrets };
}

describe('a Relay that names a Secret not marked for it', () => {
  let kube: KubeApiServer;
  let host: SmtpReceiver;
  before(async () => {
    host = await startSmtpReceiver({ host: '127.0.0.31', auth: { user: 'relayuser', pass: password } });
    kube = await startKubeApiServer();
    await kube.ok(['create', 'namespace', ns]);
  });
  after(async () => {
    await host?.stop();
    await kube?.stop();
  });

  test('is not Ready, its Secret is never read and its host never sees the value; marked, it works', async (t) => {
    await apply(
      kube,
      ns,
      `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: example-com}
spec:
  domain: example.com
  inbound: {aliases: [{name: postmaster, to: [alice@example.com]}]}
---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: alice}
spec: {address: alice@example.com}
---
apiVersion: v1
kind: Secret
metadata: {name: anything-in-the-namespace}
stringData: {username: relayuser, password: ${password}}
---
apiVersion: stafette.dev/v1alpha1
kind: Relay
metadata: {name: chosen-host}
spec:
  host: ${host.host}
  port: ${host.port}
  tls: starttls
  insecureSkipVerify: true
  authSecretRef: {name: anything-in-the-namespace}
  default: true
`,
    );
    const operator = await runOperator(kube, ns);
    t.after(() => operator.stop());

    // Unmarked, the Secret is not even in the operator's cache (its informer selects marked
    // Secrets only): for the operator there is no Secret of that name marked for relay-auth.
    const unmarked = await waitForCondition(kube, 'relay/chosen-host', ns, 'False', 'RelayCredentialsNotFound', 'Ready', 60_000);
    assert.match(unmarked.message, /not found among the Secrets labelled stafette\.dev\/secret-use=relay-auth/);
    assert.ok(!(await bundleObjects(kube)).raw.includes(password), 'the value is in the bundle');
    // Marked for another use (a webhook's key), it is seen and refused by name.
    await kube.ok(['label', 'secret', 'anything-in-the-namespace', '-n', ns, 'stafette.dev/secret-use=webhook']);
    const ready = await waitForCondition(kube, 'relay/chosen-host', ns, 'False', 'SecretNotMarked', 'Ready', 60_000);
    assert.match(
      ready.message,
      /spec\.authSecretRef\.name: Secret anything-in-the-namespace is marked for webhook, not for this use: label it stafette\.dev\/secret-use=relay-auth/,
    );
    await waitForCondition(kube, 'relay/chosen-host', ns, 'True', 'SecretNotMarked', 'Stalled');
    await waitForCondition(kube, 'mailbox/alice', ns, 'True');
    const { raw } = await bundleObjects(kube);
    assert.ok(!raw.includes(password), 'the value is in the bundle');

    const deliverOnce = async () => {
      const config = await loadedBundle(kube);
      const transport = createRemoteSmtpTransport({
        config: () => config,
        resolver: createDnsResolver({ servers: ['127.0.0.1'], timeoutMs: 500, tries: 1 }),
        relayTlsOptions: { rejectUnauthorized: false },
        connectTimeoutMs: 2_000,
      });
      const plan = planRecipients(config.bundle, 'alice@example.com', ['bob@far.example'], { localMaildirRoot: '/tmp/none' });
      assert.deepEqual(
        plan.groups.map((g) => g.destination),
        [{ kind: 'relay', relayId: `${ns}/chosen-host` }],
      );
      const outcomes = await transport.deliver(
        testAttempt(plan.groups[0]!.destination, 'alice@example.com', ['bob@far.example'], testMessage('alice@example.com', 'bob@far.example', 'x', 'hi\r\n')),
      );
      transport.close();
      return outcomes;
    };
    // The MTA's delivery through that relay waits (no credentials), without a connection.
    const refused = await deliverOnce();
    assert.deepEqual(
      refused.map((o) => o.status),
      ['transient'],
    );
    assert.equal(host.connections, 0, 'the relay host was contacted');
    assert.equal(host.messages.length, 0);

    // Control: the owner marks the Secret for relay-auth; the same relay is Ready and authenticates.
    await kube.ok(['label', '--overwrite', 'secret', 'anything-in-the-namespace', '-n', ns, 'stafette.dev/secret-use=relay-auth']);
    await waitForCondition(kube, 'relay/chosen-host', ns, 'True', undefined, 'Ready', 60_000);
    await waitFor('credentials in the bundle', async () => (await bundleObjects(kube)).raw.includes(password));
    const delivered = await deliverOnce();
    assert.deepEqual(
      delivered.map((o) => o.status),
      ['delivered'],
    );
    assert.equal(host.messages.at(-1)?.user, 'relayuser');
  });
});
