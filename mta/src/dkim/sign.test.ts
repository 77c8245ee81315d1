import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { bundleApiVersion, type Bundle, type BundleSecrets } from '../../../bundle/schema.ts';
import { chooseDkimKeys, signMessage } from './sign.ts';
import { fromHeaderDomain } from './from-domain.ts';

const source = { namespace: 'mail', name: 'fixture' };

function keyPair(kind: 'rsa' | 'ed25519') {
  const { privateKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const p = kind === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
  return { pem, record: `v=DKIM1; k=${kind}; p=${p}` };
}

const rsa = keyPair('rsa');
const ed = keyPair('ed25519');

function fixture(): { bundle: Bundle; secrets: BundleSecrets } {
  const domain = (name: string, signing: string[]) => ({
    domain: name,
    hostname: `mx.${name}`,
    source,
    tls: null,
    dkim: {
      signing,
      selectors: signing.map((s) => ({ selector: s, algorithm: s.startsWith('ed') ? ('ed25519-sha256' as const) : ('rsa-sha256' as const), publicKey: 'x' })),
    },
    inbound: { catchAll: null, maxMessageSize: 1 << 20, maxRecipients: 10, dmarc: 'report' as const },
    outbound: { relay: null },
  });
  return {
    bundle: {
      apiVersion: bundleApiVersion,
      revision: 'r',
      domains: [domain('example.test', ['rsa1', 'ed1']), domain('nokeys.test', [])],
      mailboxes: [],
      aliases: [],
      relays: [],
    },
    secrets: {
      apiVersion: bundleApiVersion,
      revision: 'r',
      passwords: {},
      relayCredentials: {},
      webhookKeys: {},
      tlsCertificates: {},
      dkimKeys: [
        { domain: 'example.test', selector: 'rsa1', algorithm: 'rsa-sha256', privateKeyPem: rsa.pem },
        { domain: 'example.test', selector: 'ed1', algorithm: 'ed25519-sha256', privateKeyPem: ed.pem },
      ],
    },
  };
}

const message = Buffer.from(
  'From: "Alice, A." <alice@Example.TEST>\r\nTo: bob@far.test\r\nSubject: hello\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nHello Bob.\r\n',
);

test('the From domain is found through display names, comments and folding', () => {
  assert.equal(fromHeaderDomain(message), 'example.test');
  assert.equal(fromHeaderDomain(Buffer.from('Subject: x\r\nFROM:\r\n bob@Other.Test (Bob)\r\n\r\nbody')), 'other.test');
  assert.equal(fromHeaderDomain(Buffer.from('Subject: x\r\n\r\nFrom: a@b.test')), null);
});

test('keys come from the From domain, else from the envelope sender domain, else none', () => {
  const { bundle, secrets } = fixture();
  assert.equal(chooseDkimKeys(bundle, secrets, '', message)?.domain, 'example.test');
  const foreignFrom = Buffer.from('From: x@elsewhere.test\r\n\r\nbody\r\n');
  assert.equal(chooseDkimKeys(bundle, secrets, 'bounce@example.test', foreignFrom)?.domain, 'example.test');
  assert.equal(chooseDkimKeys(bundle, secrets, 'a@nokeys.test', foreignFrom), null);
});

test('a domain the rule does not allow never signs, even when it is ours and in From', () => {
  const { bundle, secrets } = fixture();
  assert.equal(
    chooseDkimKeys(bundle, secrets, 'a@nokeys.test', message, (d) => d !== 'example.test'),
    null,
  );
  assert.equal(
    chooseDkimKeys(bundle, secrets, 'bounce@example.test', message, () => false),
    null,
  );
});

test('a signed message verifies with mailauth for every signing selector (RSA and Ed25519)', async () => {
  const { bundle, secrets } = fixture();
  const signed = await signMessage(bundle, secrets, 'alice@example.test', message);
  assert.equal(signed.domain, 'example.test');
  assert.deepEqual(signed.selectors, ['rsa1', 'ed1']);
  const records: Record<string, string> = { 'rsa1._domainkey.example.test': rsa.record, 'ed1._domainkey.example.test': ed.record };
  const resolver = async (name: string, type: string) => {
    const record = records[name];
    if (type !== 'TXT' || !record) throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' });
    return [[record]];
  };
  const result = await dkimVerify(signed.message, { resolver });
  assert.deepEqual(
    result.results.map((r) => [r.signingDomain, r.selector, r.status.result]),
    [
      ['example.test', 'rsa1', 'pass'],
      ['example.test', 'ed1', 'pass'],
    ],
  );
});

test('mail from a domain without keys goes out unchanged', async () => {
  const { bundle, secrets } = fixture();
  const plain = Buffer.from('From: a@nokeys.test\r\n\r\nhi\r\n');
  const result = await signMessage(bundle, secrets, 'a@nokeys.test', plain);
  assert.equal(result.message, plain);
  assert.equal(result.domain, null);
});
