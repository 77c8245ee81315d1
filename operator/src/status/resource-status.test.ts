// Status as a specification: conditions say what is wrong in words, and writing the same
// facts twice changes nothing (so the operator never patches status in a loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RenderIssue } from '../render/issues.ts';
import { mergeConditions, sameStatus } from './conditions.ts';
import { domainStatus, simpleStatus, type DomainChildren } from './resource-status.ts';

const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-02T00:00:00Z');
const issue = (reason: RenderIssue['reason'], severity: RenderIssue['severity'], message: string): RenderIssue =>
  ({ kind: 'Mailbox', namespace: 'mail', name: 'm', field: 'spec.address', reason, severity, message });

test('a mailbox without errors is Ready; warnings stay in the message', () => {
  const status = simpleStatus({ namespace: 'mail', name: 'm', generation: 3 }, [], t1);
  assert.deepEqual(status.conditions, [{ type: 'Ready', status: 'True', reason: 'Configured', message: 'in the MTA configuration', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  assert.equal(status.observedGeneration, 3);
});

test('the first error names the reason; every error is in the message', () => {
  const status = simpleStatus({ namespace: 'mail', name: 'm', generation: 1 }, [issue('DomainNotFound', 'Error', 'no MailDomain serves x.example'), issue('AddressConflict', 'Error', 'taken')], t1);
  const [ready] = status.conditions ?? [];
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'DomainNotFound');
  assert.equal(ready?.message, 'spec.address: no MailDomain serves x.example; spec.address: taken');
});

test('lastTransitionTime changes only when the status does, so an unchanged status compares equal', () => {
  const first = simpleStatus({ namespace: 'mail', name: 'm', generation: 1 }, [], t1);
  const again = simpleStatus({ namespace: 'mail', name: 'm', generation: 1, status: first }, [], t2);
  assert.ok(sameStatus(first, again));
  const broken = simpleStatus({ namespace: 'mail', name: 'm', generation: 1, status: first }, [issue('DomainNotFound', 'Error', 'gone')], t2);
  assert.equal(broken.conditions?.[0]?.lastTransitionTime, '2026-01-02T00:00:00Z');
  assert.equal(mergeConditions(broken.conditions, [{ type: 'Ready', status: 'False', reason: 'Other', message: 'x' }], 1, new Date('2026-01-03T00:00:00Z'))[0]?.lastTransitionTime, '2026-01-02T00:00:00Z');
});

const children = (over: Partial<DomainChildren> = {}): DomainChildren => ({
  dkim: [{ name: 's', algorithm: 'rsa-2048', secretName: 'd-dkim-s', state: 'Signing' }],
  missingSelectors: [],
  certificate: { type: 'CertificateReady', status: 'True', reason: 'DefaultCertificate', message: 'm' },
  dns: { type: 'DNSPublished', status: 'Unknown', reason: 'PublishedByHand', message: 'm' },
  ...over,
});
const report = { namespace: 'mail', name: 'd', domain: 'example.com', dnsRecords: [{ name: 'example.com', type: 'MX' as const, value: '10 mx.example.com.', purpose: 'MX' as const }], mtaStsPolicy: null };

test('a domain is Ready when served and signing; it reports its selectors and records', () => {
  const status = domainStatus({ namespace: 'mail', name: 'd', generation: 2 }, [], report, children(), t1);
  assert.deepEqual(status.conditions?.map((c) => [c.type, c.status, c.reason]), [
    ['Ready', 'True', 'Serving'], ['DKIMKeyReady', 'True', 'KeyReady'], ['CertificateReady', 'True', 'DefaultCertificate'], ['DNSPublished', 'Unknown', 'PublishedByHand'],
  ]);
  assert.equal(status.dkim?.signingSelectors, 's');
  assert.deepEqual(status.dnsRecords, [{ name: 'example.com', type: 'MX', value: '10 mx.example.com.', purpose: 'MX' }]);
});

test('a domain waiting for its key, or with a failed certificate, is not Ready and says why', () => {
  const pending = domainStatus({ namespace: 'mail', name: 'd', generation: 1 }, [], report, children({ dkim: [], missingSelectors: ['s'] }), t1);
  assert.deepEqual(pending.conditions?.slice(0, 2).map((c) => [c.type, c.status, c.reason]), [['Ready', 'False', 'DKIMKeyPending'], ['DKIMKeyReady', 'False', 'KeyPending']]);
  const noCert = domainStatus({ namespace: 'mail', name: 'd', generation: 1 }, [], report, children({ certificate: { type: 'CertificateReady', status: 'False', reason: 'SecretNotFound', message: 'Secret x not found' } }), t1);
  assert.deepEqual([noCert.conditions?.[0]?.reason, noCert.conditions?.[0]?.message], ['SecretNotFound', 'Secret x not found']);
});

test('a domain that lost a conflict is not served, and says who serves it', () => {
  const conflict: RenderIssue = { kind: 'MailDomain', namespace: 'b', name: 'd', field: 'spec.domain', reason: 'DomainConflict', severity: 'Error', message: 'example.com is already served by MailDomain a/d' };
  const status = domainStatus({ namespace: 'b', name: 'd', generation: 1 }, [conflict], undefined, children({ dkim: [] }), t1);
  assert.deepEqual([status.conditions?.[0]?.status, status.conditions?.[0]?.reason, status.conditions?.[0]?.message], ['False', 'DomainConflict', 'example.com is already served by MailDomain a/d']);
  assert.deepEqual(status.dnsRecords, []);
});
