// The cert-manager Certificate for a domain's hostname (cert-manager.io/v1). Written
// as plain data: cert-manager is optional, so the operator must not depend on its types.
import type { MailDomain, MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { domainLabel, managedByLabel, ownerReference } from './owner.ts';

export function certificateFor(domain: MailDomain, spec: MailDomainSpecResolved, hostname: string): Record<string, unknown> | null {
  const issuer = spec.tls?.issuerRef;
  if (!issuer) return null;
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: `${domain.metadata.name}-tls`,
      namespace: domain.metadata.namespace,
      labels: { ...managedByLabel, [domainLabel]: domain.metadata.name },
      ownerReferences: [ownerReference('MailDomain', domain.metadata)],
    },
    spec: {
      secretName: spec.tls?.secretName ?? `${domain.metadata.name}-tls`,
      dnsNames: [hostname],
      issuerRef: { name: issuer.name, kind: issuer.kind ?? 'Issuer', group: issuer.group ?? 'cert-manager.io' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  };
}
