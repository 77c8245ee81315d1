// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is. This file: MailDomains
// (defaults, DKIM selectors, TLS, MTA-STS).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { render } from './render.ts';
import { domain, input, key, secret } from './test-resources.ts';
import { alice, assertLoadable, exampleCom, only, reasons } from './render-expectations.ts';

describe('domains', () => {
  test('a MailDomain gets its defaults: hostname mx.<domain>, 25 MiB, 100 recipients, DMARC report', () => {
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], dkimKeys: [key('example.com', 'stafette')] }));
    const d = result.bundle.domains[0];
    assert.equal(d?.hostname, 'mx.example.com');
    assert.deepEqual(d?.inbound, { catchAll: null, maxMessageSize: 25 * 1024 * 1024, maxRecipients: 100, dmarc: 'report' });
    assert.deepEqual(d?.dkim.signing, ['stafette']);
    assert.deepEqual(reasons(result), []);
    assertLoadable(result);
  });

  test('two MailDomains for one domain: the older keeps it, the newer is reported', () => {
    const first = exampleCom();
    const second = domain('example-com-again', { domain: 'example.com' }, 'other');
    const result = render(input({ domains: [second, first], mailboxes: [alice()] }));
    assert.equal(result.bundle.domains.length, 1);
    assert.equal(result.bundle.domains[0]?.source.name, 'example-com');
    const issue = only(result, 'DomainConflict');
    assert.equal(issue.name, 'example-com-again');
    assert.match(issue.message, /already served by MailDomain mail\/example-com/);
  });

  test('algorithm both asks for an RSA and an Ed25519 selector, and a missing key is reported, not fatal', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 'k1', algorithm: 'both' } });
    const result = render(input({ domains: [d], dkimKeys: [key('example.com', 'k1-rsa')] }));
    assert.deepEqual(
      result.missingDkimKeys.map((m) => [m.selector, m.algorithm]),
      [['k1-ed25519', 'ed25519-sha256']],
    );
    assert.deepEqual(result.bundle.domains[0]?.dkim.signing, ['k1-rsa']);
    assert.equal(only(result, 'DKIMKeyMissing').severity, 'Warning');
  });

  test('operator-managed keys: all are published in DNS, only Signing keys of a wanted algorithm sign', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 's', algorithm: 'rsa-2048' } });
    const keys = [
      { ...key('example.com', 's'), state: 'Retiring' as const },
      { ...key('example.com', 's-r2'), state: 'Signing' as const },
      { ...key('example.com', 's-r3'), state: 'Published' as const },
      { ...key('example.com', 'old-ed', 'ed25519-sha256'), state: 'Signing' as const },
    ];
    const result = render(input({ domains: [d], mailboxes: [], dkimKeys: keys }));
    assert.deepEqual(result.bundle.domains[0]?.dkim.signing, ['s-r2']);
    assert.deepEqual(
      result.bundle.domains[0]?.dkim.selectors.map((k) => k.selector),
      ['old-ed', 's', 's-r2', 's-r3'],
    );
    assert.deepEqual(
      result.secrets.dkimKeys.map((k) => k.selector),
      ['s-r2'],
    );
    assert.deepEqual(
      result.domains[0]?.dnsRecords.filter((r) => r.purpose === 'DKIM').map((r) => r.name),
      ['old-ed._domainkey.example.com', 's._domainkey.example.com', 's-r2._domainkey.example.com', 's-r3._domainkey.example.com'],
    );
    assert.deepEqual(result.missingDkimKeys, []);
  });

  test('operator-managed keys: an algorithm with only a retiring key is missing', () => {
    const d = domain('example-com', { domain: 'example.com', dkim: { selector: 's', algorithm: 'both' } });
    const result = render(
      input({
        domains: [d],
        dkimKeys: [
          { ...key('example.com', 's-rsa'), state: 'Signing' },
          { ...key('example.com', 'x', 'ed25519-sha256'), state: 'Retiring' },
        ],
      }),
    );
    assert.deepEqual(
      result.missingDkimKeys.map((m) => m.algorithm),
      ['ed25519-sha256'],
    );
  });

  test('a domain without postmaster, alias or catch-all gets a warning', () => {
    const result = render(input({ domains: [domain('bare', { domain: 'bare.example' })] }));
    assert.equal(only(result, 'PostmasterMissing').severity, 'Warning');
  });

  test('a TLS Secret named by the domain is carried in the secret part', () => {
    const d = domain('example-com', { domain: 'example.com', tls: { secretName: 'mx-tls' } });
    const result = render(input({ domains: [d], secrets: [secret('mx-tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' }, 'tls')] }));
    assert.deepEqual(result.bundle.domains[0]?.tls, { secretName: 'mail/mx-tls' });
    assert.deepEqual(result.secrets.tlsCertificates, { 'mail/mx-tls': { certPem: 'CERT', keyPem: 'KEY' } });
  });

  describe('MTA-STS is published only for a policy that is served', () => {
    const certs = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
    const mtaSts = (r: ReturnType<typeof render>) => r.domains[0]!.dnsRecords.filter((x) => x.purpose === 'MTA-STS').map((x) => x.name);
    const warned = (r: ReturnType<typeof render>) => r.issues.filter((x) => x.reason === 'MtaStsNotServed').map((x) => x.message);

    test('with a cert-manager issuer (the Certificate names mta-sts.<domain>), or behind an Ingress', () => {
      const d = domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'letsencrypt' } } });
      const result = render(input({ domains: [d] }));
      assert.deepEqual(mtaSts(result), ['_mta-sts.example.com', 'mta-sts.example.com']);
      assert.match(result.domains[0]!.mtaStsPolicy!, /^version: STSv1\nmode: testing\nmx: mx\.example\.com\n/);
      assert.deepEqual(mtaSts(render(input({ domains: [domain('example-com', { domain: 'example.com' })], mtaStsServedBy: 'ingress' }))), [
        '_mta-sts.example.com',
        'mta-sts.example.com',
      ]);
    });

    test('with a Secret whose certificate names mta-sts.<domain>, but not one that does not', () => {
      const withName = domain('example-com', { domain: 'example.com', tls: { secretName: 'mx-tls' } });
      const ok = render(input({ domains: [withName], secrets: [secret('mx-tls', { 'tls.crt': certs('cert-mx-and-mta-sts.pem'), 'tls.key': 'KEY' }, 'tls')] }));
      assert.deepEqual(mtaSts(ok), ['_mta-sts.example.com', 'mta-sts.example.com']);
      const without = render(input({ domains: [withName], secrets: [secret('mx-tls', { 'tls.crt': certs('cert-mx-only.pem'), 'tls.key': 'KEY' }, 'tls')] }));
      assert.deepEqual(mtaSts(without), []);
      assert.equal(without.domains[0]!.mtaStsPolicy, null);
      assert.deepEqual(warned(without), ['the MTA-STS policy is not published: the certificate in Secret mx-tls does not name mta-sts.example.com']);
    });

    test('without a certificate, or when the installation serves none, nothing is published and the domain says why', () => {
      assert.match(warned(render(input({ domains: [domain('example-com', { domain: 'example.com' })] })))[0]!, /no certificate for mta-sts\.example\.com/);
      const none = render(input({ domains: [domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'x' } } })], mtaStsServedBy: 'none' }));
      assert.deepEqual(mtaSts(none), []);
      assert.deepEqual(warned(render(input({ domains: [domain('example-com', { domain: 'example.com', dns: { mtaSts: { mode: 'none' } } })] }))), []);
    });
  });

  test('with a cert-manager issuer the certificate Secret defaults to <name>-tls', () => {
    const d = domain('example-com', { domain: 'example.com', tls: { issuerRef: { name: 'letsencrypt' } } });
    assert.deepEqual(render(input({ domains: [d] })).bundle.domains[0]?.tls, { secretName: 'mail/example-com-tls' });
  });
});
