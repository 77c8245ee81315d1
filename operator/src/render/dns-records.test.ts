import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, specSchemaOf } from '../../../crds/src/crd-schemas.ts';
import type { MailDomainSpec, MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { generateDkimKey } from '../dkim/keys.ts';
import { dnsRecordsFor, txtValue } from './dns-records.ts';

const specSchema = specSchemaOf('MailDomain');
const resolved = (spec: MailDomainSpec) => applyDefaults(specSchema, spec) as MailDomainSpecResolved;

/** The character-strings of a zone-file TXT value. */
function strings(value: string): string[] {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
}

test('a TXT value is split into quoted strings of at most 255 bytes that join back to the text', () => {
  const text = 'x'.repeat(600);
  const parts = strings(txtValue(text));
  assert.deepEqual(
    parts.map((p) => p.length),
    [255, 255, 90],
  );
  assert.equal(parts.join(''), text);
  assert.equal(txtValue('say "hi"'), '"say \\"hi\\""');
});

test('a 2048-bit DKIM key record is split, and an Ed25519 one fits in one string', () => {
  const rsa = { domain: 'example.com', selector: 's1', ...generateDkimKey('rsa-sha256') };
  const ed = { domain: 'example.com', selector: 's2', ...generateDkimKey('ed25519-sha256') };
  const records = dnsRecordsFor(resolved({ domain: 'example.com' }), 'mx.example.com', [rsa, ed]).filter((r) => r.purpose === 'DKIM');
  assert.equal(records[0]?.name, 's1._domainkey.example.com');
  const rsaParts = strings(records[0]?.value ?? '');
  assert.ok(rsaParts.length >= 2 && rsaParts.every((p) => p.length <= 255));
  assert.equal(rsaParts.join(''), `v=DKIM1; k=rsa; p=${rsa.publicKey}`);
  assert.deepEqual(strings(records[1]?.value ?? ''), [`v=DKIM1; k=ed25519; p=${ed.publicKey}`]);
  assert.equal(Buffer.from(ed.publicKey, 'base64').length, 32);
});

test('the defaults publish MX, SPF softfail, DMARC none, MTA-STS testing and TLS-RPT to postmaster', () => {
  const records = dnsRecordsFor(resolved({ domain: 'example.com' }), 'mx.example.com', []);
  assert.deepEqual(
    records.map((r) => [r.purpose, r.name, r.type, r.value.replace(/id=[0-9a-f]+/, 'id=…')]),
    [
      ['MX', 'example.com', 'MX', '10 mx.example.com.'],
      ['SPF', 'example.com', 'TXT', '"v=spf1 mx ~all"'],
      ['DMARC', '_dmarc.example.com', 'TXT', '"v=DMARC1; p=none; rua=mailto:postmaster@example.com"'],
      ['MTA-STS', '_mta-sts.example.com', 'TXT', '"v=STSv1; id=…"'],
      ['MTA-STS', 'mta-sts.example.com', 'CNAME', 'mx.example.com.'],
      ['TLS-RPT', '_smtp._tls.example.com', 'TXT', '"v=TLSRPTv1; rua=mailto:postmaster@example.com"'],
    ],
  );
});

test("a policy nobody serves publishes no MTA-STS records (an id without a policy fails every sender's fetch)", () => {
  const records = dnsRecordsFor(resolved({ domain: 'example.com' }), 'mx.example.com', [], false);
  assert.deepEqual(
    records.filter((r) => r.purpose === 'MTA-STS'),
    [],
  );
});

test('SPF mechanisms, DMARC policy and percentage, report addresses and MTA-STS mode come from the spec', () => {
  const spec = resolved({
    domain: 'example.com',
    dns: {
      spf: { mechanisms: ['ip4:192.0.2.10', 'include:_spf.relay.example'], policy: 'fail' },
      dmarc: { policy: 'reject', percent: 50, reportTo: ['dmarc@example.com'] },
      mtaSts: { mode: 'none' },
      tlsRpt: { reportTo: ['tls@example.com'] },
    },
  });
  const byPurpose = Object.fromEntries(dnsRecordsFor(spec, 'mx.example.com', []).map((r) => [r.purpose, r.value]));
  assert.equal(byPurpose.SPF, '"v=spf1 mx ip4:192.0.2.10 include:_spf.relay.example -all"');
  assert.equal(byPurpose.DMARC, '"v=DMARC1; p=reject; rua=mailto:dmarc@example.com; pct=50"');
  assert.equal(byPurpose['MTA-STS'], undefined);
  assert.equal(byPurpose['TLS-RPT'], '"v=TLSRPTv1; rua=mailto:tls@example.com"');
});

test('the MTA-STS id changes when the policy changes', () => {
  const id = (mode: 'testing' | 'enforce') =>
    dnsRecordsFor(resolved({ domain: 'example.com', dns: { mtaSts: { mode } } }), 'mx.example.com', []).find((r) => r.purpose === 'MTA-STS')?.value;
  assert.notEqual(id('testing'), id('enforce'));
});
