// A throwaway certificate authority for the TLS tests of mail standards: MTA-STS policy hosts
// served over HTTPS, MX hosts whose certificate must (or must not) verify, the MTA's own policy
// host; and for TLS to NATS (a server certificate, client certificates). The openssl CLI issues the certificates (node:crypto cannot), each from an explicit
// config so the system openssl.cnf adds nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestCa {
  /** The CA certificate (PEM): what a client must trust. */
  readonly caPem: string;
  readonly caFile: string;
  /** A server certificate for `names` (DNS names or IP addresses), signed by this CA. */
  issue(names: readonly string[]): Promise<TestCertificate>;
  /** A client certificate (clientAuth) for `name`, signed by this CA, with its files. */
  issueClient(name: string): Promise<TestCertificate & { certFile: string; keyFile: string }>;
}

let counter = 0;

export async function createTestCa(name = 'stafette-test-ca'): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-ca-'));
  const ca = await issue(
    dir,
    `${name}`,
    { CN: name },
    { basicConstraints: 'critical,CA:TRUE', keyUsage: 'critical,keyCertSign,cRLSign', subjectKeyIdentifier: 'hash' },
  );
  return {
    caPem: readFileSync(ca.cert, 'utf8'),
    caFile: ca.cert,
    async issue(names) {
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      const leaf = await issue(
        dir,
        `leaf-${++counter}`,
        { CN: names[0]! },
        {
          basicConstraints: 'critical,CA:FALSE',
          keyUsage: 'critical,digitalSignature',
          extendedKeyUsage: 'serverAuth',
          authorityKeyIdentifier: 'keyid',
          subjectAltName: san,
        },
        ca,
      );
      return { certPem: readFileSync(leaf.cert, 'utf8'), keyPem: readFileSync(leaf.key, 'utf8') };
    },
    async issueClient(clientName) {
      const leaf = await issue(
        dir,
        `client-${++counter}`,
        { CN: clientName },
        { basicConstraints: 'critical,CA:FALSE', keyUsage: 'critical,digitalSignature', extendedKeyUsage: 'clientAuth', authorityKeyIdentifier: 'keyid' },
        ca,
      );
      return { certPem: readFileSync(leaf.cert, 'utf8'), keyPem: readFileSync(leaf.key, 'utf8'), certFile: leaf.cert, keyFile: leaf.key };
    },
  };
}

async function issue(dir: string, name: string, subject: Record<string, string>, extensions: Record<string, string>, issuer?: { cert: string; key: string }) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const config = join(dir, `${name}.cnf`);
  const lines = ['[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = ext', '[dn]'];
  for (const [k, v] of Object.entries(subject)) lines.push(`${k} = ${v}`);
  lines.push('[ext]');
  for (const [k, v] of Object.entries(extensions)) lines.push(`${k} = ${v}`);
  writeFileSync(config, `${lines.join('\n')}\n`);
  const args = [
    'req',
    '-x509',
    '-config',
    config,
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '30',
  ];
  if (issuer) args.push('-CA', issuer.cert, '-CAkey', issuer.key);
  await run('openssl', args, { env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
  return { cert, key };
}
