// Which certificate a TLS handshake gets, following the bundle as it changes (no restart):
//  - with SNI: the certificate of the MailDomain whose hostname is the requested name
//    (domain.tls.secretName -> secrets.tlsCertificates[...]);
//  - without SNI, or for a name we have no certificate for: the first domain certificate of
//    the bundle, else the configured default, else a self-signed one made at start.
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

export function createCertificateSelector(
  getConfig: () => { bundle: Bundle; secrets: BundleSecrets },
  fallback: TlsMaterial,
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

  return {
    sniCallback(servername, cb) {
      const name = servername.toLowerCase().replace(/\.$/, '');
      const { bundle, secrets } = getConfig();
      const domain = bundle.domains.find((d) => d.hostname === name && d.tls);
      const material = domain?.tls ? secrets.tlsCertificates[domain.tls.secretName] : undefined;
      cb(null, material ? (contextOf(material, name) ?? undefined) : undefined);
    },
    defaultMaterial() {
      const { bundle, secrets } = getConfig();
      for (const d of bundle.domains) {
        const material = d.tls ? secrets.tlsCertificates[d.tls.secretName] : undefined;
        if (material && contextOf(material, d.hostname)) return material;
      }
      return fallback;
    },
  };
}
