// A self-signed certificate for a listener that has nothing better: no certificate in the
// bundle for the name the client asked for, and none configured as the default. Made with the
// openssl CLI (node:crypto can make keys but not X.509 certificates). Opportunistic STARTTLS
// between MTAs does not verify certificates, so this still encrypts MX traffic; submission
// clients will (rightly) complain until the MailDomain has a real certificate.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

const run = promisify(execFile);

/** An ECDSA P-256 key and a certificate for `hostnames` (the first is the CN), valid for `days`. */
export async function generateSelfSignedCertificate(hostnames: readonly string[], days = 365): Promise<TlsMaterial> {
  const [first] = hostnames;
  if (!first) throw new Error('a certificate needs at least one hostname');
  const dir = await mkdtemp(join(tmpdir(), 'stafette-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', String(days), '-subj', `/CN=${first}`,
      '-addext', `subjectAltName=${hostnames.map((h) => `DNS:${h}`).join(',')}`,
    ], { timeout: 30_000 });
    return { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
