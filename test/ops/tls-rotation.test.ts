// Certificate rotation through the mounted Secret (docs/reliability.md §3 scenario 47): a new
// certificate in the bundle is served to new connections without a restart, and a session
// opened before the swap keeps the certificate it negotiated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { minimalBundle } from '../../mta/src/config/load-bundle-fixture.ts';
import { generateSelfSignedCertificate, type TlsMaterial } from '../../mta/src/smtp/index.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { SmtpWire } from '../harness/smtp-transcript.ts';
import { startMtaProcess, testDomain, type MtaProcess } from './mta-process.ts';

const hostname = `mx.${testDomain}`;
const secretName = 'mail/mx-tls';

function bundleWithCertificate(revision: string, tls: TlsMaterial) {
  const parts = minimalBundle(revision, [`alice@${testDomain}`], testDomain);
  parts.bundle.domains[0] = { ...parts.bundle.domains[0]!, tls: { secretName } };
  parts.secrets.tlsCertificates = { [secretName]: tls };
  return parts;
}

/** STARTTLS with SNI; returns the served certificate's SHA-256 fingerprint and the open session. */
async function startTls(m: MtaProcess): Promise<{ fingerprint: string; wire: SmtpWire }> {
  const wire = await SmtpWire.open(m.mx, 15_000);
  await wire.readReply();
  wire.send('EHLO client.test\r\n');
  await wire.readReply();
  wire.send('STARTTLS\r\n');
  const ready = await wire.readReply();
  assert.match(ready.at(-1) ?? '', /^220 /);
  await wire.startTls(hostname);
  return { fingerprint: wire.tls!.getPeerX509Certificate()!.fingerprint256, wire };
}

describe('mta - TLS certificate rotation by bundle reload', () => {
  let m: MtaProcess;
  let first: TlsMaterial;
  let second: TlsMaterial;

  before(async () => {
    first = await generateSelfSignedCertificate([hostname]);
    second = await generateSelfSignedCertificate([hostname]);
    m = await startMtaProcess({ name: 'tls-rotation', addresses: [], initial: bundleWithCertificate('r1', first) });
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  test('new connections get the new certificate; a session opened before keeps its own', async () => {
    const earlier = await startTls(m);
    assert.equal(earlier.fingerprint, new X509Certificate(first.certPem).fingerprint256);

    m.publishParts(bundleWithCertificate('r2', second));
    await waitFor('revision r2 in force', async () => (await m.metric('stafette_config_bundle_info{revision="r2"}')) === 1, { timeoutMs: 15_000 });

    const later = await startTls(m);
    assert.equal(later.fingerprint, new X509Certificate(second.certPem).fingerprint256);
    later.wire.destroy();

    earlier.wire.send('NOOP\r\n');
    assert.match((await earlier.wire.readReply()).at(-1) ?? '', /^250 /, 'the earlier session is untouched');
    earlier.wire.destroy();
  });
});
