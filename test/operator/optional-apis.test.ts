// cert-manager and ExternalDNS are optional, but a MailDomain that asks for them needs them:
// without their APIs the domain is Stalled and its conditions say what to install (the rest
// of the bundle is still served); with them, the operator writes a Certificate and a
// DNSEndpoint and the domain is Reconciling until both are done.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { apply, getJson, runOperator, waitForCondition } from './operator-fixture.ts';

const domain = `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: example-com}
spec:
  domain: example.com
  tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
  inbound: {catchAll: someone@elsewhere.example}
  dns: {publish: externalDNS, ttl: 300}
`;

describe('optional APIs: cert-manager Certificate and ExternalDNS DNSEndpoint', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('without cert-manager and ExternalDNS the domain is Stalled, its conditions say what to install, and it is still served', async (t) => {
    await kube.ok(['create', 'namespace', 'without']);
    await apply(kube, 'without', domain);
    const operator = await runOperator(kube, 'without');
    t.after(() => operator.stop());
    const cert = await waitForCondition(kube, 'maildomain/example-com', 'without', 'False', 'CertManagerNotInstalled', 'CertificateReady');
    assert.match(cert.message, /install cert-manager/);
    const dns = await waitForCondition(kube, 'maildomain/example-com', 'without', 'False', 'ExternalDNSNotInstalled', 'DNSPublished');
    assert.match(dns.message, /install ExternalDNS/);
    await waitForCondition(kube, 'maildomain/example-com', 'without', 'False', 'CertManagerNotInstalled');
    await waitForCondition(kube, 'maildomain/example-com', 'without', 'True', 'CertManagerNotInstalled', 'Stalled');
    // In the bundle: its DNS records are rendered (a domain left out has none).
    const served = await getJson<{ status: { dnsRecords: unknown[] } }>(kube, ['get', 'maildomain/example-com', '-n', 'without']);
    assert.ok(served.status.dnsRecords.length > 0);
  });

  test('with them installed, a Certificate and a DNSEndpoint are written and their progress reported', async (t) => {
    await kube.ok(['apply', '--server-side', '-f', 'test/operator/crds/']);
    await kube.ok(['wait', '--for=condition=Established', 'crd/certificates.cert-manager.io', 'crd/dnsendpoints.externaldns.k8s.io']);
    await kube.ok(['create', 'namespace', 'with']);
    await apply(kube, 'with', domain);
    const operator = await runOperator(kube, 'with', { pollMs: 500 });
    t.after(() => operator.stop());

    await waitForCondition(kube, 'maildomain/example-com', 'with', 'False', 'Issuing', 'CertificateReady');
    await waitForCondition(kube, 'maildomain/example-com', 'with', 'True', 'Issuing', 'Reconciling');
    const cert = await getJson<{ spec: Record<string, unknown>; metadata: { ownerReferences: { name: string }[] } }>(kube, [
      'get',
      'certificate/example-com-tls',
      '-n',
      'with',
    ]);
    assert.deepEqual(cert.spec.dnsNames, ['mx.example.com', 'mta-sts.example.com']);
    assert.equal(cert.spec.secretName, 'example-com-tls');
    assert.deepEqual(cert.spec.issuerRef, { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    assert.deepEqual(
      cert.metadata.ownerReferences.map((o) => o.name),
      ['example-com'],
    );

    const endpoint = await getJson<{ spec: { endpoints: { dnsName: string; recordType: string; targets: string[]; recordTTL: number }[] } }>(kube, [
      'get',
      'dnsendpoint/example-com-mail',
      '-n',
      'with',
    ]);
    const byPurpose = endpoint.spec.endpoints.map((e) => [e.dnsName, e.recordType, e.recordTTL]);
    assert.deepEqual(byPurpose.slice(0, 2), [
      ['example.com', 'MX', 300],
      ['example.com', 'TXT', 300],
    ]);
    assert.deepEqual(endpoint.spec.endpoints[0]?.targets, ['10 mx.example.com']);
    assert.ok(endpoint.spec.endpoints.some((e) => e.dnsName === 'stafette._domainkey.example.com' && e.targets[0]?.startsWith('v=DKIM1; k=rsa; p=')));
    // The Certificate names mta-sts.example.com, so the MTA serves the policy and its records are
    // published: the _mta-sts id and the mta-sts name, in the DNSEndpoint and in status.dnsRecords.
    const stsId = endpoint.spec.endpoints.find((e) => e.dnsName === '_mta-sts.example.com' && e.recordType === 'TXT');
    assert.match(stsId?.targets[0] ?? '', /^v=STSv1; id=\w+$/);
    assert.deepEqual(endpoint.spec.endpoints.find((e) => e.dnsName === 'mta-sts.example.com')?.recordType, 'CNAME');
    const status = await getJson<{ status: { dnsRecords: { name: string; type: string; purpose: string }[] } }>(kube, [
      'get',
      'maildomain/example-com',
      '-n',
      'with',
    ]);
    assert.deepEqual(
      status.status.dnsRecords.filter((r) => r.purpose === 'MTA-STS').map((r) => [r.name, r.type]),
      [
        ['_mta-sts.example.com', 'TXT'],
        ['mta-sts.example.com', 'CNAME'],
      ],
    );

    // What cert-manager and ExternalDNS would write once done.
    await kube.ok([
      'patch',
      'certificate/example-com-tls',
      '-n',
      'with',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date' }] } }),
    ]);
    const generation = (await getJson<{ metadata: { generation: number } }>(kube, ['get', 'dnsendpoint/example-com-mail', '-n', 'with'])).metadata.generation;
    await kube.ok([
      'patch',
      'dnsendpoint/example-com-mail',
      '-n',
      'with',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { observedGeneration: generation } }),
    ]);
    await waitForCondition(kube, 'maildomain/example-com', 'with', 'True', 'Issued', 'CertificateReady');
    await waitForCondition(kube, 'maildomain/example-com', 'with', 'True', 'Published', 'DNSPublished');
    await waitForCondition(kube, 'maildomain/example-com', 'with', 'True', 'Serving');
  });
});
