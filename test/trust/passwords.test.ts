// Passwords (issue 12 item 5, docs/trust-model.md "Passwords and delivery targets"): one
// platform scrypt cost, a pre-hashed password of another cost refused on its Mailbox by the
// real operator, unknown logins verified against a decoy by the real intake, and no fast
// verifier in the operator's password index Secret (only version records of the hashes).
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { decodeBundleFiles } from '../../bundle/files.ts';
import { verifyPassword } from '../../bundle/password-hash.ts';
import type { BundleSecrets } from '../../bundle/schema.ts';
import type { IntakeObserver } from '../../mta/src/smtp/intake-observer.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { apply, getJson, runOperator, waitForCondition } from '../operator/operator-fixture.ts';

type IndexSecret = { metadata: { resourceVersion: string }; data: { key: string; 'hash-versions': string } };

const expensive = `$scrypt$ln=20,r=16,p=1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;

async function bundlePasswords(kube: KubeApiServer, ns: string): Promise<Record<string, string>> {
  const files = new Map<string, Buffer>();
  const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', ns]);
  for (const [k, v] of Object.entries(cm.binaryData)) files.set(k, Buffer.from(v, 'base64'));
  for (let i = 0; i < 2; i += 1) {
    const s = await getJson<{ data: Record<string, string> }>(kube, ['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', ns]);
    for (const [k, v] of Object.entries(s.data)) files.set(k, Buffer.from(v, 'base64'));
  }
  const decoded = decodeBundleFiles(files);
  assert.ok(decoded.ok);
  return (decoded.secrets as BundleSecrets).passwords;
}

describe('trust - passwords at the operator', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('an expensive pre-hashed password is refused on its Mailbox; the index Secret keeps no password HMAC, only version records of the hashes; a restart keeps the hashes and writes no index; a password changed meanwhile is hashed anew', async () => {
    const ns = 'trust-passwords';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    await kube.ok(['create', 'secret', 'generic', 'carol-password', '-n', ns, `--from-literal=password=${expensive}`]);
    // Marked for its use, as every Secret a resource references must be (docs/trust-model.md §4).
    await kube.ok(['label', 'secret', 'carol-password', '-n', ns, 'stafette.dev/secret-use=password']);
    await apply(
      kube,
      ns,
      `
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: carol}
spec: {address: carol@example.com, passwordSecretRef: {name: carol-password}}
`,
    );
    let operator = await runOperator(kube, ns);
    try {
      const carol = await waitForCondition(kube, 'mailbox/carol', ns, 'False', 'PasswordHashNotAccepted');
      assert.match(carol.message, /scrypt cost ln=20,r=16,p=1 is not the platform's ln=15,r=8,p=1/);
      await waitForCondition(kube, 'mailbox/alice', ns, 'True');
      const first = await waitFor('the bundle with alice and bob hashed', async () => {
        const p = await bundlePasswords(kube, ns);
        return p['alice@example.com'] && p['bob@example.com'] ? p : undefined;
      });
      assert.equal(first['carol@example.com'], undefined);

      const index = await getJson<IndexSecret>(kube, ['get', 'secret', 'stafette-bundle-password-index', '-n', ns]);
      assert.deepEqual(Object.keys(index.data).sort(), ['hash-versions', 'key']);
      // Beside the key, only version records: each a digest of the address, its Secret's uid/resourceVersion and the hash.
      const key = Buffer.from(index.data.key, 'base64');
      const expected: Record<string, string> = {};
      for (const [address, name] of [
        ['alice@example.com', 'alice-password'],
        ['bob@example.com', 'bob-password'],
      ] as const) {
        const secret = await getJson<{ metadata: { uid: string; resourceVersion: string } }>(kube, ['get', 'secret', name, '-n', ns]);
        const source = `${secret.metadata.uid}/${secret.metadata.resourceVersion}`;
        expected[address] = createHmac('sha256', key)
          .update(`password-version\0${address}\0${source}\0${first[address]}`)
          .digest()
          .subarray(0, 12)
          .toString('base64');
      }
      assert.deepEqual(JSON.parse(gunzipSync(Buffer.from(index.data['hash-versions'], 'base64')).toString('utf8')), expected);

      await operator.stop();
      operator = await runOperator(kube, ns);
      await waitForCondition(kube, 'mailbox/alice', ns, 'True');
      await operator.idle();
      // The restarted operator reused the bundle's hashes (their records match the Secrets) and wrote no index.
      assert.deepEqual(await bundlePasswords(kube, ns), first);
      const after = await getJson<IndexSecret>(kube, ['get', 'secret', 'stafette-bundle-password-index', '-n', ns]);
      assert.equal(after.metadata.resourceVersion, index.metadata.resourceVersion);

      // A password changed while no operator ran: a new Secret version, so the next operator hashes it anew.
      await operator.stop();
      await kube.ok(['patch', 'secret', 'alice-password', '-n', ns, '--type', 'merge', '-p', '{"stringData":{"password":"n3w-secret"}}']);
      operator = await runOperator(kube, ns);
      const changed = await waitFor('alice hashed anew', async () => {
        const p = await bundlePasswords(kube, ns);
        return p['alice@example.com'] !== first['alice@example.com'] ? p : undefined;
      });
      assert.equal(verifyPassword(changed['alice@example.com'] as string, 'n3w-secret'), true);
      assert.equal(changed['bob@example.com'], first['bob@example.com']);
    } finally {
      await operator.stop();
    }
  });
});

describe('trust - passwords at the intake', () => {
  let f: IntakeFixture;
  const checks: string[] = [];
  const observer: IntakeObserver = {
    sessionOpened() {},
    sessionClosed() {},
    command() {},
    messageAccepted() {},
    rejected() {},
    authAttempt() {},
    passwordChecked: (_listener, against) => checks.push(against),
  };

  before(async () => {
    f = await startIntakeFixture({ name: 'nats-trust-passwords', intake: { observer } });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('an unknown login costs one scrypt run against the decoy, a known one against its stored hash', async () => {
    const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
    await playTranscript(
      f.submission,
      `
s: 220 mx.example.com ESMTP Stafette
c: EHLO laptop.example
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s: 250 *
c: AUTH PLAIN ${plain('nobody@example.com', 'change-me-alice')}
s: 535 5.7.8 Authentication credentials invalid
c: AUTH PLAIN ${plain('alice@example.com', 'wrong')}
s: 535 5.7.8 Authentication credentials invalid
c: QUIT
s: 221 *`,
    );
    assert.deepEqual(checks, ['decoy', 'stored']);
  });
});
