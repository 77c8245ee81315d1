// A namespace claims only its own domains (docs/trust-model.md §6), against the real kube-apiserver and a real DNS server (dnsmasq): a second
// namespace's MailDomain for a claimed domain stays DomainNotVerified, even when older, and gets
// nothing (no bundle entry, no Certificate, no DNSEndpoint, and a real MTA with the bundle refuses
// mail for its Mailboxes); a TXT challenge published in DNS
// makes a claim verified; a subdomain of another namespace's domain waits for its consent; a
// hostname outside the domain, an issuer not on the admin's list and a tls.secretName that is
// someone else's Secret are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { decodeBundleFiles } from '../../bundle/files.ts';
import type { Bundle } from '../../bundle/schema.ts';
import { delegateSubdomainsAnnotation } from '../../crds/src/index.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { apply, getJson, runOperator, waitForCondition } from '../operator/operator-fixture.ts';
import { startMtaProcess } from '../ops/mta-process.ts';

const maildomain = (name: string, spec: string, annotations = '') => `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: ${name}${annotations ? `, annotations: ${annotations}` : ''}}
spec:
${spec}
`;

async function bundleDomains(kube: KubeApiServer): Promise<string[]> {
  const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', 'mail']);
  const config = JSON.parse(gunzipSync(Buffer.from(cm.binaryData['bundle.json.gz'] ?? '', 'base64')).toString('utf8')) as Bundle;
  return config.domains.map((d) => `${d.source.namespace}/${d.domain}`);
}

/** Both parts of the bundle the operator wrote, as an MTA mounts them. */
async function bundleParts(kube: KubeApiServer): Promise<{ bundle: unknown; secrets: unknown }> {
  const files = new Map<string, Buffer>();
  const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', 'mail']);
  for (const [k, v] of Object.entries(cm.binaryData)) files.set(k, Buffer.from(v, 'base64'));
  for (let i = 0; i < 2; i += 1) {
    const s = await getJson<{ data?: Record<string, string> }>(kube, ['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', 'mail']);
    for (const [k, v] of Object.entries(s.data ?? {})) files.set(k, Buffer.from(v, 'base64'));
  }
  const decoded = decodeBundleFiles(files);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  return { bundle: decoded.config, secrets: decoded.secrets };
}

const mailbox = (name: string, address: string) => `---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: ${name}}
spec: {address: ${address}}
`;

async function names(kube: KubeApiServer, resource: string, namespace: string): Promise<string[]> {
  const list = await getJson<{ items: { metadata: { name: string } }[] }>(kube, ['get', resource, '-n', namespace]);
  return list.items.map((i) => i.metadata.name);
}

describe('domain ownership and certificates', () => {
  let kube: KubeApiServer;
  const servers: DnsServer[] = [];
  before(async () => {
    kube = await startKubeApiServer();
    await kube.ok(['apply', '--server-side', '-f', 'test/operator/crds/']);
    await kube.ok(['wait', '--for=condition=Established', 'crd/certificates.cert-manager.io', 'crd/dnsendpoints.externaldns.k8s.io']);
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await kube?.stop();
  });

  test('a second namespace gets nothing for a claimed domain until DNS or the owner says so; wrong hostnames and issuers are refused', async (t) => {
    await kube.ok(['create', 'namespace', 'mail']);
    await kube.ok(['create', 'namespace', 'tenant-b']);
    const empty = await startDnsServer({ local: ['test'] });
    servers.push(empty);
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([empty.address]);

    // The squatter's MailDomain is the older one: age alone no longer wins.
    const tls = '  tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}}\n  dns: {publish: externalDNS}';
    await apply(kube, 'tenant-b', maildomain('grab', `  domain: example.test\n${tls}`));
    await apply(kube, 'tenant-b', maildomain('shop', '  domain: shop.test'));
    await apply(kube, 'tenant-b', maildomain('eu', '  domain: eu.example.test'));
    await apply(kube, 'tenant-b', maildomain('elsewhere', '  domain: other.test\n  hostname: mx.example.test'));
    await sleep(1100);
    await apply(kube, 'mail', maildomain('example', `  domain: example.test\n${tls}`));
    // Mailboxes the squatter would receive the domains' mail in, and the owner's own.
    await apply(kube, 'tenant-b', mailbox('boss', 'boss@example.test') + mailbox('sales', 'sales@shop.test'));
    await apply(kube, 'mail', mailbox('ceo', 'ceo@example.test'));
    await apply(kube, 'mail', maildomain('internal', '  domain: internal.test\n  tls: {issuerRef: {name: internal-ca, kind: ClusterIssuer}}'));
    // A Secret that is not the MailDomain's: cert-manager must not be told to write into it.
    await kube.ok(['create', 'secret', 'generic', 'relay-credentials', '-n', 'mail', '--from-literal=password=hunter2']);
    // Marked (for another use), so the operator's label-selected informer sees that it exists.
    await kube.ok(['label', 'secret', 'relay-credentials', '-n', 'mail', 'stafette.dev/secret-use=relay-auth']);
    await apply(
      kube,
      'mail',
      maildomain('borrowed', '  domain: borrowed.test\n  tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}, secretName: relay-credentials}'),
    );

    const operator = await runOperator(kube, 'mail', {
      namespaces: ['mail', 'tenant-b'],
      pollMs: 500,
      domainOwnership: { allow: { mail: ['*'] }, dnsChallenge: true, challengePollMs: 300 },
      challengeResolver: resolver,
      allowedIssuers: [{ kind: 'ClusterIssuer', name: 'letsencrypt' }],
    });
    t.after(() => operator.stop());

    const grab = await waitForCondition(kube, 'maildomain/grab', 'tenant-b', 'False', 'DomainNotVerified');
    assert.match(grab.message, /_stafette-challenge\.example\.test "stafette-domain-verification=/);
    await waitForCondition(kube, 'maildomain/grab', 'tenant-b', 'True', 'DomainNotVerified', 'Stalled');
    const shop = await waitForCondition(kube, 'maildomain/shop', 'tenant-b', 'False', 'DomainNotVerified');
    const hostname = await waitForCondition(kube, 'maildomain/elsewhere', 'tenant-b', 'False', 'HostnameOutsideDomain');
    assert.match(hostname.message, /mx\.example\.test is not other\.test/);
    const issuer = await waitForCondition(kube, 'maildomain/internal', 'mail', 'False', 'IssuerNotAllowed', 'CertificateReady');
    assert.match(issuer.message, /internal-ca is not on the platform's list/);
    await waitForCondition(kube, 'maildomain/internal', 'mail', 'False', 'IssuerNotAllowed');
    const borrowed = await waitForCondition(kube, 'maildomain/borrowed', 'mail', 'False', 'TLSSecretNotOwned', 'CertificateReady');
    assert.match(borrowed.message, /Secret relay-credentials exists and is not this MailDomain's/);
    await waitForCondition(kube, 'maildomain/borrowed', 'mail', 'False', 'TLSSecretNotOwned');
    // The owner's domain is served and certified; the squatter's gets no Certificate, no DNSEndpoint, no keys.
    await waitFor('the Certificate of mail/example', async () => (await names(kube, 'certificates', 'mail')).includes('example-tls') || undefined);
    await waitFor('bundle with the owned domains', async () => {
      const domains = await bundleDomains(kube);
      return domains.includes('mail/example.test') && domains.includes('mail/internal.test') && domains.includes('mail/borrowed.test') ? domains : undefined;
    });
    assert.deepEqual((await bundleDomains(kube)).sort(), ['mail/borrowed.test', 'mail/example.test', 'mail/internal.test']);
    assert.deepEqual(await names(kube, 'certificates', 'mail'), ['example-tls'], 'no Certificate from a refused issuer or into a borrowed Secret');
    assert.deepEqual(await names(kube, 'certificates', 'tenant-b'), []);
    assert.deepEqual(await names(kube, 'dnsendpoints', 'tenant-b'), []);
    assert.deepEqual(await names(kube, 'secrets', 'tenant-b'), [], 'no DKIM keys for unverified domains');
    await waitForCondition(kube, 'mailbox/boss', 'tenant-b', 'False', 'DomainNotFound');
    await waitForCondition(kube, 'mailbox/sales', 'tenant-b', 'False', 'DomainNotFound');
    await waitForCondition(kube, 'mailbox/ceo', 'mail', 'True');

    // The squatter gets no mail: an MTA with this bundle takes the owner's recipient and refuses the squatter's.
    const parts = await waitFor('the bundle with ceo@example.test', async () => {
      const p = await bundleParts(kube);
      return JSON.stringify(p.bundle).includes('ceo@example.test') ? p : undefined;
    });
    const mta = await startMtaProcess({ name: 'trust-ownership', addresses: [], initial: parts });
    t.after(() => mta.close());
    const deliver = (to: string) =>
      sendMessage({ ...mta.mx, from: 'someone@far.test', to: [to], message: Buffer.from(`From: someone@far.test\r\nTo: ${to}\r\nSubject: hi\r\n\r\nhi\r\n`) });
    assert.match(await deliver('ceo@example.test'), /^250 /);
    for (const to of ['boss@example.test', 'sales@shop.test']) assert.match(await deliver(to), /^5\d\d /, to);

    // The tenant publishes the challenge records (a new DNS server with them; the resolver
    // the operator was given is pointed at it, as a zone update would do).
    const token = (message: string, name: string) => new RegExp(`${name.replace(/\./g, '\\.')} "([^"]+)"`).exec(message)?.[1] as string;
    const euMessage = (await waitForCondition(kube, 'maildomain/eu', 'tenant-b', 'False', 'DomainNotVerified')).message;
    const published = await startDnsServer({
      local: ['test'],
      txt: {
        '_stafette-challenge.shop.test': token(shop.message, '_stafette-challenge.shop.test'),
        '_stafette-challenge.eu.example.test': token(euMessage, '_stafette-challenge.eu.example.test'),
        // A record for another namespace proves nothing for tenant-b.
        '_stafette-challenge.example.test': token(grab.message, '_stafette-challenge.example.test').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      },
    });
    servers.push(published);
    resolver.setServers([published.address]);

    await waitFor('shop.test in the bundle', async () => (await bundleDomains(kube)).includes('tenant-b/shop.test') || undefined, { timeoutMs: 30_000 });
    await waitForCondition(kube, 'maildomain/shop', 'tenant-b', 'True', 'Serving');
    // Verified, but under mail's example.test: it waits for mail's consent.
    await waitForCondition(kube, 'maildomain/eu', 'tenant-b', 'False', 'SubdomainNotDelegated');
    await waitForCondition(kube, 'maildomain/grab', 'tenant-b', 'False', 'DomainNotVerified');

    await kube.ok(['annotate', '-n', 'mail', 'maildomain/example', `${delegateSubdomainsAnnotation}=tenant-b`]);
    await waitFor('eu.example.test in the bundle', async () => (await bundleDomains(kube)).includes('tenant-b/eu.example.test') || undefined, {
      timeoutMs: 30_000,
    });
    assert.deepEqual((await bundleDomains(kube)).sort(), [
      'mail/borrowed.test',
      'mail/example.test',
      'mail/internal.test',
      'tenant-b/eu.example.test',
      'tenant-b/shop.test',
    ]);
    assert.deepEqual(await names(kube, 'certificates', 'tenant-b'), []);
  });
});
