import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMxHost, checkRelay, checkSession, hasTlsRequiredNo, type HostVerdict, type StsPolicy } from './tls-requirements.ts';

const enforce: StsPolicy = { mode: 'enforce', mx: ['mx1.example.net', '*.mail.example.net'] };
const testing: StsPolicy = { mode: 'testing', mx: ['mx1.example.net'] };
const plain = { requireTls: false, tlsRequiredNo: false };
const requireTls = { requireTls: true, tlsRequiredNo: false };
const waived = { requireTls: false, tlsRequiredNo: true };

function verdict(v: HostVerdict): string {
  return v.ok
    ? `${v.requirement.tls}${v.requirement.reportOnly ? ' report-only' : ''}${v.requirement.requireTlsExtension ? ' +REQUIRETLS' : ''}`
    : `${v.failure.status} ${v.failure.reply.code} ${v.failure.reply.enhanced}`;
}

function requirementOf(v: HostVerdict) {
  assert.ok(v.ok);
  return v.requirement;
}

const good = { tls: true, verifyError: null, offersRequireTls: true };
const badCert = { tls: true, verifyError: 'self-signed certificate', verifyCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', offersRequireTls: true };
const noTls = { tls: false, verifyError: null, offersRequireTls: false };

describe('MTA-STS (RFC 8461 §5)', () => {
  test('enforce: only listed MX hosts (exact, or one label under a wildcard), with verified TLS', () => {
    assert.equal(verdict(checkMxHost('mx1.example.net', enforce, plain)), 'verified');
    assert.equal(verdict(checkMxHost('a.mail.example.net', enforce, plain)), 'verified');
    assert.equal(verdict(checkMxHost('a.b.mail.example.net', enforce, plain)), 'transient 451 4.7.4');
    assert.equal(verdict(checkMxHost('mx.attacker.test', enforce, plain)), 'transient 451 4.7.4');
  });

  test('enforce: a certificate that does not verify, or no STARTTLS, defers the message (4.7.5 / 4.7.4)', () => {
    const req = requirementOf(checkMxHost('mx1.example.net', enforce, plain));
    assert.deepEqual(checkSession('mx1.example.net', req, good), { ok: true });
    const cert = checkSession('mx1.example.net', req, badCert);
    assert.equal(!cert.ok && `${cert.failure.status} ${cert.failure.reply.enhanced} ${cert.failure.resultType}`, 'transient 4.7.5 certificate-not-trusted');
    const none = checkSession('mx1.example.net', req, noTls);
    assert.equal(!none.ok && `${none.failure.reply.enhanced} ${none.failure.resultType}`, '4.7.4 starttls-not-supported');
  });

  test('testing: everything is delivered; failures only reported', () => {
    assert.equal(verdict(checkMxHost('other.example.net', testing, plain)), 'verified report-only');
    const req = requirementOf(checkMxHost('mx1.example.net', testing, plain));
    assert.deepEqual(checkSession('mx1.example.net', req, badCert), { ok: true });
  });

  test('no policy, or mode none: opportunistic TLS as before', () => {
    assert.equal(verdict(checkMxHost('anything.test', null, plain)), 'opportunistic');
    assert.equal(verdict(checkMxHost('anything.test', { mode: 'none', mx: [] }, plain)), 'opportunistic');
  });

  test('TLS-Required: No waives the policy (RFC 8689 §5)', () => {
    assert.equal(verdict(checkMxHost('mx.attacker.test', enforce, waived)), 'opportunistic');
  });
});

describe('REQUIRETLS (RFC 8689 §4.2.1)', () => {
  test('needs a policy listing the MX (testing counts as enforce), verified TLS and the extension at the next hop', () => {
    assert.equal(verdict(checkMxHost('mx1.example.net', testing, requireTls)), 'verified +REQUIRETLS');
    assert.equal(verdict(checkMxHost('mx1.example.net', null, requireTls)), 'permanent 550 5.7.30');
    assert.equal(verdict(checkMxHost('other.example.net', testing, requireTls)), 'permanent 550 5.7.30');
    const req = requirementOf(checkMxHost('mx1.example.net', enforce, requireTls));
    const noExtension = checkSession('mx1.example.net', req, { ...good, offersRequireTls: false });
    assert.equal(
      !noExtension.ok && `${noExtension.failure.status} ${noExtension.failure.reply.code} ${noExtension.failure.reply.enhanced}`,
      'permanent 550 5.7.30',
    );
    const cert = checkSession('mx1.example.net', req, badCert);
    assert.equal(!cert.ok && cert.failure.reply.enhanced, '5.7.30');
  });

  test('TLS-Required: No is ignored when REQUIRETLS is asked for as well', () => {
    assert.equal(verdict(checkMxHost('mx1.example.net', null, { requireTls: true, tlsRequiredNo: true })), 'permanent 550 5.7.30');
  });

  test('relays: verified unless they opt out; REQUIRETLS needs a verified relay that offers it', () => {
    assert.equal(verdict(checkRelay({ tls: 'starttls', verifyCertificate: true }, plain)), 'verified');
    assert.equal(verdict(checkRelay({ tls: 'starttls', verifyCertificate: false }, plain)), 'opportunistic');
    assert.equal(verdict(checkRelay({ tls: 'starttls', verifyCertificate: false }, requireTls)), 'permanent 550 5.7.30');
    assert.equal(verdict(checkRelay({ tls: 'implicit', verifyCertificate: true }, requireTls)), 'verified +REQUIRETLS');
  });
});

test('TLS-Required: No is read from the header section only, folded or not', () => {
  assert.equal(hasTlsRequiredNo(Buffer.from('Subject: x\r\nTLS-Required:  No\r\n\r\nbody')), true);
  assert.equal(hasTlsRequiredNo(Buffer.from('TLS-Required:\r\n no\r\n\r\n')), true);
  assert.equal(hasTlsRequiredNo(Buffer.from('Subject: x\r\n\r\nTLS-Required: No\r\n')), false);
  assert.equal(hasTlsRequiredNo(Buffer.from('TLS-Required: Nope\r\n\r\n')), false);
});
