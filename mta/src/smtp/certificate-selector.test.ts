// Which certificate a handshake gets (docs/trust-model.md §6): by SNI only a name exactly one
// domain of the bundle has; without SNI or for an unknown name the platform's, never a tenant's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SecureContext } from 'node:tls';
import type { Bundle, BundleSecrets } from '../../../bundle/schema.ts';
import { silentLogger } from '../../../observability/logger.ts';
import { createCertificateSelector } from './certificate-selector.ts';
import { generateSelfSignedCertificate, type TlsMaterial } from './self-signed-certificate.ts';

test('SNI picks the one domain with that hostname; no SNI, an unknown or a shared name get the platform certificate', async () => {
  const [platform, a, b, c] = await Promise.all(['mta.platform.test', 'mx.a.test', 'mx.b.test', 'mx.b.test'].map((n) => generateSelfSignedCertificate([n])));
  const domains = [
    { domain: 'a.test', hostname: 'mx.a.test', tls: { secretName: 'ns-a/a-tls' } },
    { domain: 'b.test', hostname: 'mx.b.test', tls: { secretName: 'ns-b/b-tls' } },
  ];
  let config = {
    bundle: { domains } as unknown as Bundle,
    secrets: { tlsCertificates: { 'ns-a/a-tls': a, 'ns-b/b-tls': b, 'ns-c/c-tls': c } } as unknown as BundleSecrets,
  };
  const select = (configured: boolean, hostname: string) => {
    const selector = createCertificateSelector(() => config, { material: platform as TlsMaterial, configured, hostname }, silentLogger);
    const bySni = (name: string) =>
      new Promise<string | undefined>((resolve) => selector.sniCallback(name, (_err, ctx?: SecureContext) => resolve(ctx ? 'context' : undefined)));
    return { selector, bySni };
  };

  const { selector, bySni } = select(true, 'mx.a.test');
  assert.equal(await bySni('MX.A.test.'), 'context');
  assert.equal(await bySni('mx.unknown.test'), undefined, 'unknown name: the server default');
  assert.equal(selector.defaultMaterial(), platform, 'a configured platform certificate wins over every domain');
  assert.equal(select(false, 'mx.a.test').selector.defaultMaterial(), a, "unconfigured: our own hostname's domain lends its certificate");
  assert.equal(select(false, 'mta.platform.test').selector.defaultMaterial(), platform, 'never the first tenant in the bundle');

  // A second domain with the same hostname (another namespace's): neither certificate is served for it.
  config = {
    ...config,
    bundle: { domains: [...domains, { domain: 'c.test', hostname: 'mx.b.test', tls: { secretName: 'ns-c/c-tls' } }] } as unknown as Bundle,
  };
  assert.equal(await select(true, 'x').bySni('mx.b.test'), undefined);
  assert.equal(await select(true, 'x').bySni('mx.a.test'), 'context');
});
