// Which certificate a TLS handshake gets, following the bundle as it changes (no restart):
//  - with SNI: the certificate of the MailDomain whose hostname is the requested name, when
//    exactly one domain of the bundle (every one verified by the operator, docs/trust-model.md §6)
//    has that hostname with a certificate; a name two domains claim gets neither's;
//  - without SNI, or for a name we have no certificate for: the platform's certificate, never
//    another tenant's: the configured default (--tls-cert), else the certificate of the domain
//    whose hostname is the MTA's own name (the admin's mta.hostname, or the first domain's),
//    else a self-signed one made at start.
// Secure contexts are built once per certificate object (a reload brings new objects) and a
// certificate that fails to load is logged and skipped, never fatal: the handshake falls
// back to the default.
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Bundle, BundleSecrets } from '../../../bundle/schema.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { TlsMaterial } from './self-signed-certificate.ts';

/**
 * The protocol floor of every listener context (the default and each SNI one): TLS 1.2 at least
 * (smtp-server's default is TLSv1, RFC 8996 deprecates 1.0 and 1.1), and no renegotiation a
 * client starts (a CPU-exhaustion vector testssl.sh flags; TLS 1.3 has none anyway).
 */
export const serverTlsPolicy = {
  minVersion: 'TLSv1.2',
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const;

export interface CertificateSelector {
  /** For smtp-server's SNICallback option: undefined context means "use the default". */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void;
  /** The certificate for clients without SNI, from the current bundle or the fallback. */
  defaultMaterial(): TlsMaterial;
}

export interface PlatformCertificate {
  /** The certificate for clients without SNI: configured by the admin, or self-signed. */
  material: TlsMaterial;
  /** Whether the admin configured it (--tls-cert); then it wins over every bundle certificate. */
  configured: boolean;
  /** The MTA's own name: without a configured certificate, the domain with this hostname lends its own. */
  hostname: string;
}

export function createCertificateSelector(
  getConfig: () => { bundle: Bundle; secrets: BundleSecrets },
  platform: PlatformCertificate,
  logger: Logger,
): CertificateSelector {
  const contexts = new WeakMap<TlsMaterial, SecureContext | null>();

  function contextOf(material: TlsMaterial, name: string): SecureContext | null {
    let ctx = contexts.get(material);
    if (ctx === undefined) {
      try {
        ctx = createSecureContext({ cert: material.certPem, key: material.keyPem, ...serverTlsPolicy });
      } catch (err) {
        logger.error('TLS certificate from the bundle cannot be used; serving the default instead', { hostname: name, err });
        ctx = null;
      }
      contexts.set(material, ctx);
    }
    return ctx;
  }

  /** The one certificate the bundle has for a hostname, or undefined (none, or two domains claim it). */
  function materialFor(name: string): TlsMaterial | undefined {
    const { bundle, secrets } = getConfig();
    const ids = new Set(bundle.domains.filter((d) => d.hostname === name && d.tls).map((d) => d.tls?.secretName as string));
    if (ids.size !== 1) return undefined;
    const material = secrets.tlsCertificates[[...ids][0] as string];
    return material && contextOf(material, name) ? material : undefined;
  }

  return {
    sniCallback(servername, cb) {
      const name = servername.toLowerCase().replace(/\.$/, '');
      const material = materialFor(name);
      cb(null, material ? (contextOf(material, name) ?? undefined) : undefined);
    },
    defaultMaterial() {
      if (platform.configured) return platform.material;
      return materialFor(platform.hostname.toLowerCase()) ?? platform.material;
    },
  };
}
