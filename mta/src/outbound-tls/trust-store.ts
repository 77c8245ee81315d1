// Whom the MTA trusts when it verifies a certificate: an MX host under MTA-STS or REQUIRETLS, a
// relay, an MTA-STS policy host. The operating system's CA store (what the container image
// ships in /etc/ssl/certs), Node's bundled Mozilla store, and an extra bundle the operator may
// configure (`--tls-ca-file`: a private CA for an internal relay, a test CA). It is installed
// as the process default (tls.setDefaultCACertificates), so every TLS client in the process
// uses the same store: our SMTP client, mailauth's policy fetch, and any other.
//
// `peerVerification` reads what a handshake showed without failing it: the SMTP client
// connects with rejectUnauthorized off, so that an MTA-STS `testing` domain still gets its
// mail over the unverified session, and decides afterwards (tls-requirements.ts) with the
// reason in hand (expired, wrong name, untrusted) for the log and the TLS-RPT report.
import { checkServerIdentity, getCACertificates, setDefaultCACertificates, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** The store: system + bundled (+ NODE_EXTRA_CA_CERTS, as Node's default has it) + `extraPem`. */
export function buildTrustStore(extraPem = ''): string[] {
  const extra = splitPem(extraPem);
  for (const cert of extra) new X509Certificate(cert); // a broken bundle fails at start-up, not at the first delivery
  return [...new Set([...getCACertificates('default'), ...getCACertificates('system'), ...extra])];
}

export function installTrustStore(certificates: readonly string[]): void {
  setDefaultCACertificates([...certificates]);
}

export interface PeerVerification {
  /** null when the chain verified and the certificate is valid for `host`. */
  readonly error: string | null;
  /** node's code (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
  readonly code?: string;
}

/** Whether the peer of a finished TLS handshake is `host` as far as the trust store can tell. */
export function peerVerification(socket: Pick<TLSSocket, 'authorized' | 'authorizationError' | 'getPeerCertificate'>, host: string): PeerVerification {
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'UNABLE_TO_VERIFY');
    return { error: `certificate not trusted: ${code}`, code };
  }
  const mismatch = checkServerIdentity(host.replace(/\.$/, ''), socket.getPeerCertificate());
  if (mismatch) return { error: mismatch.message, code: (mismatch as Error & { code?: string }).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID' };
  return { error: null };
}

function splitPem(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}
