// The cert-manager Certificate for a domain's hostname (cert-manager.io/v1). Written
// as plain data: cert-manager is optional, so the operator must not depend on its types.
import { secretUseLabel, secretUses, type MailDomain, type MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { mtaStsHost } from '../render/dns-records.ts';
import type { MtaStsServer } from '../render/input.ts';
import { domainChildMetadata, type ChildMetadata } from './owner.ts';

export type Certificate = {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: ChildMetadata;
  spec: {
    secretName: string;
    dnsNames: string[];
    issuerRef: { name: string; kind: string; group: string };
    privateKey: { algorithm: 'ECDSA'; size: number; rotationPolicy: 'Always' };
    /** Labels cert-manager puts on the Secret it writes: marked for tls, so the operator reads it (render/secret-use.ts). */
    secretTemplate: { labels: Record<string, string> };
  };
  /** Written by cert-manager. */
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

/**
 * The Certificate for the domain's hostname, and for mta-sts.<domain> too when the MTA serves
 * the domain's MTA-STS policy (senders verify the policy host's certificate, RFC 8461 §3.3).
 */
export function certificateFor(domain: MailDomain, spec: MailDomainSpecResolved, hostname: string, mtaStsServedBy: MtaStsServer = 'mta'): Certificate | null {
  const issuer = spec.tls?.issuerRef;
  if (!issuer) return null;
  const policyHost = spec.dns.mtaSts.mode !== 'none' && mtaStsServedBy === 'mta' ? [mtaStsHost(spec.domain)] : [];
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: domainChildMetadata(domain, `${domain.metadata.name}-tls`),
    spec: {
      secretName: spec.tls?.secretName ?? `${domain.metadata.name}-tls`,
      dnsNames: [...new Set([hostname, ...policyHost])],
      issuerRef: { name: issuer.name, kind: issuer.kind ?? 'Issuer', group: issuer.group ?? 'cert-manager.io' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      secretTemplate: { labels: { [secretUseLabel]: secretUses.tls } },
    },
  };
}
