// Certificates and keys for a throwaway kube-apiserver, the way envtest makes them:
// a private CA, a serving certificate for 127.0.0.1, an admin client certificate in
// the system:masters group, and the ServiceAccount token signing key pair.
// node:crypto cannot issue X.509 certificates, so the openssl CLI does (Debian ships
// it); each call writes an explicit config so the system openssl.cnf cannot add
// extensions (its [v3_ca] would otherwise mark the leaf certificates as CAs).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KubePki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate of the admin user (group system:masters, bypasses RBAC). */
  readonly adminCert: string;
  readonly adminKey: string;
  /** Key pair that signs and verifies ServiceAccount tokens. */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

export const ADMIN_USER = 'stafette-admin';

export interface CertRequest {
  name: string;
  subject: Record<string, string>;
  extensions: Record<string, string>;
  /** Sign with this CA; self-signed when absent. */
  issuer?: { cert: string; key: string };
}

/** Issues a certificate and its P-256 key into `dir` as <name>.crt and <name>.key. */
export async function issue(dir: string, req: CertRequest): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${req.name}.crt`);
  const key = join(dir, `${req.name}.key`);
  const config = join(dir, `${req.name}.cnf`);
  const lines = ['[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = ext', '[dn]'];
  for (const [k, v] of Object.entries(req.subject)) lines.push(`${k} = ${v}`);
  lines.push('[ext]');
  for (const [k, v] of Object.entries(req.extensions)) lines.push(`${k} = ${v}`);
  writeFileSync(config, lines.join('\n') + '\n');
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
    '365',
  ];
  if (req.issuer) args.push('-CA', req.issuer.cert, '-CAkey', req.issuer.key);
  await run('openssl', args, { env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
  return { cert, key };
}

export interface KubePkiOptions {
  /** subjectAltNames of the serving certificate besides 127.0.0.1 and the kubernetes names. */
  readonly serverSans?: readonly string[];
  /** The kubernetes Service's ClusterIP (the first address of the service range). */
  readonly serviceIp?: string;
}

/** Writes a fresh PKI into `dir` (mode 0700: it holds the admin key). */
export async function createKubePki(dir: string, options: KubePkiOptions = {}): Promise<KubePki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await issue(dir, {
    name: 'ca',
    subject: { CN: 'stafette-test-ca' },
    extensions: { basicConstraints: 'critical,CA:TRUE', keyUsage: 'critical,keyCertSign,cRLSign', subjectKeyIdentifier: 'hash' },
  });
  const leaf = { basicConstraints: 'critical,CA:FALSE', keyUsage: 'critical,digitalSignature', authorityKeyIdentifier: 'keyid' };
  const [server, admin] = await Promise.all([
    issue(dir, {
      name: 'apiserver',
      subject: { CN: 'kube-apiserver' },
      // The in-cluster names too, so a client given the kubernetes Service name verifies.
      extensions: {
        ...leaf,
        extendedKeyUsage: 'serverAuth',
        subjectAltName: [
          'IP:127.0.0.1',
          'DNS:localhost',
          'DNS:kubernetes',
          'DNS:kubernetes.default',
          'DNS:kubernetes.default.svc',
          `IP:${options.serviceIp ?? '10.0.0.1'}`,
          ...(options.serverSans ?? []),
        ].join(','),
      },
      issuer: ca,
    }),
    issue(dir, {
      name: 'admin',
      subject: { O: 'system:masters', CN: ADMIN_USER },
      extensions: { ...leaf, extendedKeyUsage: 'clientAuth' },
      issuer: ca,
    }),
  ]);
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const serviceAccountKey = join(dir, 'service-account.key');
  const serviceAccountPub = join(dir, 'service-account.pub');
  writeFileSync(serviceAccountKey, sa.privateKey, { mode: 0o600 });
  writeFileSync(serviceAccountPub, sa.publicKey);
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}
