// Status as a specification: conditions say what is wrong in words, a resource that cannot
// become Ready says whether it is on its way (Reconciling) or stuck (Stalled), and writing
// the same facts twice changes nothing (so the operator never patches status in a loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RenderIssue } from '../render/issues.ts';
import { mergeConditions, sameStatus } from './conditions.ts';
import { domainStatus, simpleStatus, type ChildState, type DomainChildren } from './resource-status.ts';

const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-02T00:00:00Z');
const issue = (reason: RenderIssue['reason'], severity: RenderIssue['severity'], message: string): RenderIssue => ({
  kind: 'Mailbox',
  namespace: 'mail',
  name: 'm',
  field: 'spec.address',
  reason,
  severity,
  message,
});

test('a mailbox without errors is Ready; warnings stay in the message', () => {
  const status = simpleStatus({ namespace: 'mail', name: 'm', generation: 3 }, [], t1);
  assert.deepEqual(status.conditions, [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Configured',
      message: 'in the MTA configuration',
      observedGeneration: 3,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ]);
  assert.equal(status.observedGeneration, 3);
});

test('an error stalls a mailbox: Ready=False and Stalled=True, the first error the reason, every error in the message', () => {
  const status = simpleStatus(
    { namespace: 'mail', name: 'm', generation: 1 },
    [issue('DomainNotFound', 'Error', 'no MailDomain serves x.example'), issue('AddressConflict', 'Error', 'taken')],
    t1,
  );
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ['Ready', 'False', 'DomainNotFound', 'spec.address: no MailDomain serves x.example; spec.address: taken'],
      ['Stalled', 'True', 'DomainNotFound', 'spec.address: no MailDomain serves x.example; spec.address: taken'],
    ],
  );
});

test('a warning neither stalls nor delays a mailbox', () => {
  const status = simpleStatus({ namespace: 'mail', name: 'm', generation: 1 }, [issue('DKIMKeyMissing', 'Warning', 'no key yet')], t1);
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status, c.message]),
    [['Ready', 'True', 'in the MTA configuration; spec.address: no key yet']],
  );
});

test('a mailbox that is fixed drops its Stalled condition', () => {
  const broken = simpleStatus({ namespace: 'mail', name: 'm', generation: 1 }, [issue('DomainNotFound', 'Error', 'gone')], t1);
  const fixed = simpleStatus({ namespace: 'mail', name: 'm', generation: 1, status: broken }, [], t2);
  assert.deepEqual(
    fixed.conditions?.map((c) => c.type),
    ['Ready'],
  );
});

test('lastTransitionTime changes only when the status does, so an unchanged status compares equal', () => {
  const first = simpleStatus({ namespace: 'mail', name: 'm', generation: 1 }, [], t1);
  const again = simpleStatus({ namespace: 'mail', name: 'm', generation: 1, status: first }, [], t2);
  assert.ok(sameStatus(first, again));
  const broken = simpleStatus({ namespace: 'mail', name: 'm', generation: 1, status: first }, [issue('DomainNotFound', 'Error', 'gone')], t2);
  assert.equal(broken.conditions?.[0]?.lastTransitionTime, '2026-01-02T00:00:00Z');
  assert.equal(
    mergeConditions(broken.conditions, [{ type: 'Ready', status: 'False', reason: 'Other', message: 'x' }], 1, new Date('2026-01-03T00:00:00Z'))[0]
      ?.lastTransitionTime,
    '2026-01-02T00:00:00Z',
  );
});

const children = (over: Partial<DomainChildren> = {}): DomainChildren => ({
  dkim: [{ name: 's', algorithm: 'rsa-2048', secretName: 'd-dkim-s', state: 'Signing' }],
  missingSelectors: [],
  certificate: { condition: { type: 'CertificateReady', status: 'True', reason: 'DefaultCertificate', message: 'm' }, progress: 'done' },
  dns: { condition: { type: 'DNSPublished', status: 'Unknown', reason: 'PublishedByHand', message: 'm' }, progress: 'done' },
  ...over,
});
const certificate = (progress: ChildState['progress'], reason: string, message: string): ChildState => ({
  condition: { type: 'CertificateReady', status: 'False', reason, message },
  progress,
});
const types = (status: { conditions?: { type: string; status: string; reason: string }[] }) => status.conditions?.map((c) => [c.type, c.status, c.reason]);
const report = {
  namespace: 'mail',
  name: 'd',
  domain: 'example.com',
  dnsRecords: [{ name: 'example.com', type: 'MX' as const, value: '10 mx.example.com.', purpose: 'MX' as const }],
  mtaStsPolicy: null,
};

test('a domain is Ready when served and signing; it reports its selectors and records', () => {
  const status = domainStatus({ namespace: 'mail', name: 'd', generation: 2 }, [], report, children(), t1);
  assert.deepEqual(
    status.conditions?.map((c) => [c.type, c.status, c.reason]),
    [
      ['Ready', 'True', 'Serving'],
      ['DKIMKeyReady', 'True', 'KeyReady'],
      ['CertificateReady', 'True', 'DefaultCertificate'],
      ['DNSPublished', 'Unknown', 'PublishedByHand'],
    ],
  );
  assert.equal(status.dkim?.signingSelectors, 's');
  assert.deepEqual(status.dnsRecords, [{ name: 'example.com', type: 'MX', value: '10 mx.example.com.', purpose: 'MX' }]);
});

test('a domain waiting for its key is Reconciling: the operator will get there by itself', () => {
  const pending = domainStatus({ namespace: 'mail', name: 'd', generation: 1 }, [], report, children({ dkim: [], missingSelectors: ['s'] }), t1);
  assert.deepEqual(types(pending)?.slice(0, 3), [
    ['Ready', 'False', 'DKIMKeyPending'],
    ['Reconciling', 'True', 'DKIMKeyPending'],
    ['DKIMKeyReady', 'False', 'KeyPending'],
  ]);
});

test('a selector pending twice over (no key in the render, its key not signing yet) is named once, so the status stays the same', () => {
  const once = domainStatus({ namespace: 'mail', name: 'd', generation: 1 }, [], report, children({ dkim: [], missingSelectors: ['s'] }), t1);
  const twice = domainStatus({ namespace: 'mail', name: 'd', generation: 1 }, [], report, children({ dkim: [], missingSelectors: ['s', 's'] }), t1);
  assert.deepEqual(twice, once);
});

test('Ready is honest about certificates: issuing is Reconciling; missing, failed or refused is Stalled', () => {
  const issuing = domainStatus(
    { namespace: 'mail', name: 'd', generation: 1 },
    [],
    report,
    children({ certificate: certificate('reconciling', 'Issuing', 'waiting for cert-manager') }),
    t1,
  );
  assert.deepEqual(types(issuing)?.slice(0, 2), [
    ['Ready', 'False', 'Issuing'],
    ['Reconciling', 'True', 'Issuing'],
  ]);
  for (const reason of ['SecretNotFound', 'CertManagerNotInstalled', 'IssuanceFailed', 'ApplyFailed']) {
    const stuck = domainStatus(
      { namespace: 'mail', name: 'd', generation: 1 },
      [],
      report,
      children({ certificate: certificate('stalled', reason, `${reason} in words`) }),
      t1,
    );
    assert.deepEqual(
      types(stuck)?.slice(0, 2),
      [
        ['Ready', 'False', reason],
        ['Stalled', 'True', reason],
      ],
      reason,
    );
    assert.equal(stuck.conditions?.[0]?.message, `${reason} in words`);
  }
});

test('a stalled child wins over one still in progress: waiting would not help', () => {
  const dns: ChildState = {
    condition: { type: 'DNSPublished', status: 'False', reason: 'ExternalDNSNotInstalled', message: 'install ExternalDNS' },
    progress: 'stalled',
  };
  const status = domainStatus(
    { namespace: 'mail', name: 'd', generation: 1 },
    [],
    report,
    children({ dkim: [], missingSelectors: ['s'], certificate: certificate('reconciling', 'Issuing', 'w'), dns }),
    t1,
  );
  assert.deepEqual(types(status)?.slice(0, 2), [
    ['Ready', 'False', 'ExternalDNSNotInstalled'],
    ['Stalled', 'True', 'ExternalDNSNotInstalled'],
  ]);
  assert.ok(!status.conditions?.some((c) => c.type === 'Reconciling'), 'never both');
});

test('a domain that lost a conflict is not served, and says who serves it', () => {
  const conflict: RenderIssue = {
    kind: 'MailDomain',
    namespace: 'b',
    name: 'd',
    field: 'spec.domain',
    reason: 'DomainConflict',
    severity: 'Error',
    message: 'example.com is already served by MailDomain a/d',
  };
  const status = domainStatus({ namespace: 'b', name: 'd', generation: 1 }, [conflict], undefined, children({ dkim: [] }), t1);
  assert.deepEqual(
    [status.conditions?.[0]?.status, status.conditions?.[0]?.reason, status.conditions?.[0]?.message],
    ['False', 'DomainConflict', 'example.com is already served by MailDomain a/d'],
  );
  assert.deepEqual(types(status)?.[1], ['Stalled', 'True', 'DomainConflict']);
  assert.deepEqual(status.dnsRecords, []);
});
