// Domain ownership and certificates in render (docs/trust-model.md §6): who may claim a domain,
// its hostname and its subdomains, and which issuer and Secret a certificate may use.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { delegateSubdomainsAnnotation, secretUseLabel, secretUses } from '../../../crds/src/index.ts';
import { render, type RenderResult } from './render.ts';
import { challengeRecordOf, issuerAllowed, parseDomainAllow, parseIssuerRule, patternCovers, type DomainOwnership } from './ownership.ts';
import { domain, input } from './test-resources.ts';

const key = Buffer.alloc(32, 7);
const policy = (allow: DomainOwnership['allow'], verified: string[] = []): DomainOwnership => ({
  allow,
  verified: new Set(verified),
  challenge: (ns, d) => challengeRecordOf(key, ns, d),
});
const served = (r: RenderResult) => r.bundle.domains.map((d) => `${d.source.namespace}/${d.domain}`);
const errors = (r: RenderResult) => r.issues.filter((i) => i.severity === 'Error').map((i) => `${i.namespace}/${i.name} ${i.field} ${i.reason}`);

describe('domain ownership', () => {
  test('patterns: a name, the names under one, or any', () => {
    assert.ok(patternCovers('example.com', 'EXAMPLE.com'));
    assert.ok(!patternCovers('example.com', 'a.example.com'));
    assert.ok(patternCovers('*.example.com', 'a.b.example.com'));
    assert.ok(!patternCovers('*.example.com', 'example.com'));
    assert.ok(!patternCovers('*.example.com', 'badexample.com'));
    assert.ok(patternCovers('*', 'anything.test'));
    assert.deepEqual(parseDomainAllow(['mail=example.com, *.example.com', '*=*']), { mail: ['example.com', '*.example.com'], '*': ['*'] });
    assert.throws(() => parseDomainAllow(['example.com']), /namespace=pattern/);
  });

  test('an older MailDomain of a namespace that may not claim the domain does not take it from the owner', () => {
    const squatter = domain('grab', { domain: 'example.com' }, 'tenant-b');
    const owner = domain('example-com', { domain: 'example.com' }, 'mail');
    const result = render(input({ domains: [squatter, owner], ownership: policy({ mail: ['example.com'] }) }));
    assert.deepEqual(served(result), ['mail/example.com']);
    assert.deepEqual(errors(result), ['tenant-b/grab spec.domain DomainNotVerified']);
    const record = challengeRecordOf(key, 'tenant-b', 'example.com');
    assert.equal(record.name, '_stafette-challenge.example.com');
    assert.ok(result.issues[0]?.message.includes(record.value), 'the message says what to publish');
  });

  test('a verified challenge is a claim; the token is per namespace and per installation', () => {
    const d = domain('b', { domain: 'b.test' }, 'tenant-b');
    assert.deepEqual(served(render(input({ domains: [d], ownership: policy({}, ['tenant-b/b.test']) }))), ['tenant-b/b.test']);
    assert.notEqual(challengeRecordOf(key, 'tenant-a', 'b.test').value, challengeRecordOf(key, 'tenant-b', 'b.test').value);
    assert.notEqual(challengeRecordOf(Buffer.alloc(32, 8), 'tenant-b', 'b.test').value, challengeRecordOf(key, 'tenant-b', 'b.test').value);
  });

  test('the hostname must be the domain or under it, unless the allow-list gives the namespace that name', () => {
    const outside = domain('a', { domain: 'a.test', hostname: 'mx.provider.test' }, 'tenant-a');
    const result = render(input({ domains: [outside], ownership: policy({ 'tenant-a': ['a.test'] }) }));
    assert.deepEqual(errors(result), ['tenant-a/a spec.hostname HostnameOutsideDomain']);
    assert.deepEqual(served(result), []);
    const allowed = render(input({ domains: [outside], ownership: policy({ 'tenant-a': ['a.test', 'mx.provider.test'] }) }));
    assert.deepEqual(served(allowed), ['tenant-a/a.test']);
    assert.deepEqual(served(render(input({ domains: [domain('c', { domain: 'c.test', hostname: 'c.test' }, 'x')], ownership: policy({ x: ['c.test'] }) }))), [
      'x/c.test',
    ]);
  });

  test("a subdomain of another namespace's domain needs its consent or the allow-list", () => {
    const parent = domain('parent', { domain: 'example.com' }, 'mail');
    const child = domain('child', { domain: 'eu.example.com' }, 'tenant-b');
    const verified = ['tenant-b/eu.example.com'];
    const refused = render(input({ domains: [parent, child], ownership: policy({ mail: ['example.com'] }, verified) }));
    assert.deepEqual(served(refused), ['mail/example.com']);
    assert.deepEqual(errors(refused), ['tenant-b/child spec.domain SubdomainNotDelegated']);

    const consenting = { ...parent, metadata: { ...parent.metadata, annotations: { [delegateSubdomainsAnnotation]: 'other, tenant-b' } } };
    assert.deepEqual(served(render(input({ domains: [consenting, child], ownership: policy({ mail: ['example.com'] }, verified) }))), [
      'tenant-b/eu.example.com',
      'mail/example.com',
    ]);
    const byAdmin = render(input({ domains: [parent, child], ownership: policy({ mail: ['example.com'], 'tenant-b': ['*.example.com'] }) }));
    assert.deepEqual(errors(byAdmin), []);
    // Within one namespace no consent is needed.
    const same = domain('same', { domain: 'us.example.com' }, 'mail');
    assert.deepEqual(errors(render(input({ domains: [parent, same], ownership: policy({ mail: ['example.com'] }, ['mail/us.example.com']) }))), []);
  });

  test('without a policy (offline renders) every namespace may claim every domain', () => {
    assert.deepEqual(served(render(input({ domains: [domain('x', { domain: 'x.test', hostname: 'mx.elsewhere.test' }, 'any')] }))), ['any/x.test']);
  });
});

describe('certificates', () => {
  test('issuers: only the allowed ones; Issuer/* allows any namespaced Issuer', () => {
    const rules = ['ClusterIssuer/letsencrypt', 'Issuer/*'].map(parseIssuerRule);
    assert.ok(issuerAllowed(rules, { name: 'letsencrypt', kind: 'ClusterIssuer' }));
    assert.ok(!issuerAllowed(rules, { name: 'internal-ca', kind: 'ClusterIssuer' }));
    assert.ok(issuerAllowed(rules, { name: 'mine' }));
    assert.ok(!issuerAllowed(rules, { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'example.io' }));
    assert.ok(!issuerAllowed([], { name: 'mine' }));
    assert.ok(issuerAllowed(null, { name: 'any', kind: 'ClusterIssuer' }));
    assert.deepEqual(parseIssuerRule('ClusterIssuer/pca.awspca.cert-manager.io'), { kind: 'ClusterIssuer', name: 'pca', group: 'awspca.cert-manager.io' });
  });

  test('an issuer not on the list: served with the default certificate, reported on spec.tls.issuerRef', () => {
    const d = domain('a', { domain: 'a.test', tls: { issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer' } } });
    const result = render(input({ domains: [d], allowedIssuers: [{ kind: 'ClusterIssuer', name: 'letsencrypt' }] }));
    assert.deepEqual(errors(result), ['mail/a spec.tls.issuerRef IssuerNotAllowed']);
    assert.equal(result.bundle.domains[0]?.tls, null);
  });

  test("cert-manager never writes into someone else's Secret: tls.secretName must be new or this MailDomain's", () => {
    const d = domain('a', { domain: 'a.test', tls: { issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' }, secretName: 'nats-credentials' } });
    d.metadata.uid = 'uid-a';
    const theirs = {
      apiVersion: 'v1' as const,
      kind: 'Secret' as const,
      metadata: { name: 'nats-credentials', namespace: 'mail' },
      stringData: { password: 'x' },
    };
    const refused = render(input({ domains: [d], secrets: [theirs] }));
    assert.deepEqual(errors(refused), ['mail/a spec.tls.secretName TLSSecretNotOwned']);
    assert.equal(refused.bundle.domains[0]?.tls, null);
    // cert-manager labels what it issues for us (the Certificate's secretTemplate), so ours is marked for TLS.
    const ours = { ...theirs, metadata: { ...theirs.metadata, ownerReferences: [{ uid: 'uid-a' }], labels: { [secretUseLabel]: secretUses.tls } } };
    assert.deepEqual(errors(render(input({ domains: [d], secrets: [ours] }))), []);
    assert.deepEqual(errors(render(input({ domains: [d] }))), [], 'a new Secret is fine');
  });
});
