// Delivery targets (issue 12 item 6, docs/trust-model.md "Passwords and delivery targets"):
// a webhook to 127.0.0.1 or 169.254.169.254 is refused by the real operator on its Mailbox
// (DeliveryTargetNotAllowed) and, if it still reaches the MTA, by the webhook transport as a
// permanent 550 5.7.1 without a connection; a name that resolves to loopback at connect time
// (DNS rebinding) is refused the same way. A real HTTPS server counts the connections. A maildir
// outside the platform's root, or an LMTP host off its list, is refused the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDeliveryTargetPolicy } from '../../bundle/delivery-targets.ts';
import { generateSelfSignedCertificate } from '../../mta/src/smtp/self-signed-certificate.ts';
import { createWebhookTransport } from '../../mta/src/transport/webhook.ts';
import { withTargetPolicy } from '../../mta/src/transport/target-policy.ts';
import { createLmtpTransport } from '../../mta/src/transport/lmtp.ts';
import { createMaildirTransport } from '../../mta/src/transport/maildir.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { apply, runOperator, waitForCondition } from '../operator/operator-fixture.ts';
import { testAttempt, testMessage } from '../transports/transport-fixtures.ts';

describe('trust - delivery targets at the MTA', () => {
  let server: Server;
  let port = 0;
  let connections = 0;

  before(async () => {
    const tls = await generateSelfSignedCertificate(['hooks.test']);
    server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const message = testMessage('s@far.test', 'hook@example.test', 'Hook', 'Payload\r\n');
  const deliver = (url: string, transport = createWebhookTransport({ keyFor: () => 'k', targets: defaultDeliveryTargetPolicy })) =>
    transport.deliver(testAttempt({ kind: 'webhook', url, mailbox: 'hook@example.test' }, 's@far.test', ['hook@example.test'], message));

  test('a webhook to 127.0.0.1, to 169.254.169.254 or over http is a permanent 550 5.7.1 and never connects', async () => {
    for (const url of [
      `https://127.0.0.1:${port}/in`,
      'https://169.254.169.254/latest/meta-data/',
      `http://127.0.0.1:${port}/in`,
      `https://[::1]:${port}/in`,
    ]) {
      const [o] = await deliver(url);
      assert.equal(o?.status, 'permanent', url);
      assert.equal(o?.reply.code, 550, url);
      assert.equal(o?.reply.enhanced, '5.7.1', url);
      assert.match(o?.reason ?? '', /delivery-target policy/, url);
    }
    assert.equal(connections, 0);
  });

  test('a name that resolves to loopback at connect time (DNS rebinding) is refused before a connection', async () => {
    // The name passes the render-time check; only its resolution says where it leads.
    const rebinding = createWebhookTransport({
      keyFor: () => 'k',
      targets: defaultDeliveryTargetPolicy,
      lookup: (_host, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]),
    });
    const [o] = await deliver(`https://rebind.hooks.test:${port}/in`, rebinding);
    assert.equal(o?.status, 'permanent');
    assert.equal(o?.reply.enhanced, '5.7.1');
    assert.match(o?.reason ?? '', /at connect time: rebind\.hooks\.test resolves to 127\.0\.0\.1 is a loopback address/);
    assert.equal(connections, 0);
  });

  test('a network the admin allows is reached', async () => {
    const allowed = createWebhookTransport({ keyFor: () => 'k', targets: { ...defaultDeliveryTargetPolicy, webhookAllowNetworks: ['127.0.0.0/8'] } });
    const [o] = await deliver(`https://127.0.0.1:${port}/in`, allowed);
    // The self-signed certificate does not verify, so this attempt is transient; but it connected.
    assert.equal(o?.status, 'transient');
    assert.ok(connections >= 1);
  });

  test('a maildir outside the platform root (also by ..) is a permanent 550 5.7.1 and nothing is written; inside it, delivered', async () => {
    const base = mkdtempSync(join(tmpdir(), 'stafette-trust-maildir-'));
    try {
      const maildir = withTargetPolicy(createMaildirTransport(), { ...defaultDeliveryTargetPolicy, maildirRoot: join(base, 'mail') });
      for (const path of [join(base, 'elsewhere'), join(base, 'mail', '..', 'escaped')]) {
        const [o] = await maildir.deliver(testAttempt({ kind: 'maildir', path }, 's@far.test', ['m@example.test'], message));
        assert.equal(o?.status, 'permanent', path);
        assert.equal(o?.reply.enhanced, '5.7.1', path);
        assert.match(o?.reason ?? '', /is not inside .*deliveryTargets\.maildirRoot/, path);
      }
      assert.deepEqual(readdirSync(base), [], 'a refused maildir was written');
      const [ok] = await maildir.deliver(testAttempt({ kind: 'maildir', path: join(base, 'mail', 'm') }, 's@far.test', ['m@example.test'], message));
      assert.equal(ok?.status, 'delivered');
      assert.equal(readdirSync(join(base, 'mail', 'm', 'new')).length, 1);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('an LMTP host outside the allow-list is a permanent 550 5.7.1', async () => {
    const lmtp = withTargetPolicy(createLmtpTransport(), { ...defaultDeliveryTargetPolicy, lmtpHosts: ['dovecot.mail.svc.cluster.local'] });
    const [o] = await lmtp.deliver(testAttempt({ kind: 'lmtp', host: '127.0.0.1', port }, 's@far.test', ['a@example.test'], message));
    assert.equal(o?.status, 'permanent');
    assert.match(o?.reason ?? '', /LMTP host 127\.0\.0\.1 is not in the platform's allowed LMTP hosts/);
  });
});

describe('trust - delivery targets at the operator', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('a Mailbox with a webhook to 127.0.0.1 or 169.254.169.254 is DeliveryTargetNotAllowed; one the admin allows is Ready', async (t) => {
    const ns = 'trust-targets';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    await kube.ok(['create', 'secret', 'generic', 'hook', '-n', ns, '--from-literal=hmac-key=k']);
    // Marked for its use, as every Secret a resource references must be (docs/trust-model.md §4).
    await kube.ok(['label', 'secret', 'hook', '-n', ns, 'stafette.dev/secret-use=webhook']);
    const hook = (name: string, url: string) => `---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: ${name}}
spec: {address: ${name}@example.com, delivery: {webhook: {url: "${url}", secretRef: {name: hook}}}}
`;
    await apply(
      kube,
      ns,
      hook('loopback', 'https://127.0.0.1:8443/in') + hook('metadata', 'https://169.254.169.254/latest/meta-data/') + hook('inside', 'https://10.1.2.3/in'),
    );
    const operator = await runOperator(kube, ns, { deliveryTargets: { ...defaultDeliveryTargetPolicy, webhookAllowNetworks: ['10.1.2.0/24'] } });
    t.after(() => operator.stop());
    const loopback = await waitForCondition(kube, 'mailbox/loopback', ns, 'False', 'DeliveryTargetNotAllowed');
    assert.match(loopback.message, /127\.0\.0\.1 is a loopback address/);
    const metadata = await waitForCondition(kube, 'mailbox/metadata', ns, 'False', 'DeliveryTargetNotAllowed');
    assert.match(metadata.message, /169\.254\.169\.254 is a link-local address/);
    await waitForCondition(kube, 'mailbox/inside', ns, 'True');
  });
});
