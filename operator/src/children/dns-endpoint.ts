// The ExternalDNS DNSEndpoint (externaldns.k8s.io/v1alpha1) publishing a domain's
// records. ExternalDNS wants MX targets as "<preference> <host>" and TXT targets as
// the unquoted text; providers split long TXT values themselves, with the limits and
// write-once caveats the README lists.
import type { MailDomain } from '../../../crds/src/index.ts';
import type { DnsRecord } from '../render/dns-records.ts';
import { domainChildMetadata, type ChildMetadata } from './owner.ts';

export type DnsEndpoint = {
  apiVersion: 'externaldns.k8s.io/v1alpha1';
  kind: 'DNSEndpoint';
  metadata: ChildMetadata;
  spec: { endpoints: { dnsName: string; recordType: DnsRecord['type']; recordTTL: number; targets: string[] }[] };
  /** Written by ExternalDNS once it has published the generation it saw. */
  status?: { observedGeneration?: number };
};

/** The text of a zone-file TXT value: its quoted strings joined. */
export function unquoteTxt(value: string): string {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1')).join('');
}

export function dnsEndpointFor(domain: MailDomain, records: DnsRecord[], ttl: number): DnsEndpoint {
  return {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: domainChildMetadata(domain, `${domain.metadata.name}-mail`),
    spec: {
      endpoints: records.map((r) => ({
        dnsName: r.name,
        recordType: r.type,
        recordTTL: ttl,
        targets: [r.type === 'TXT' ? unquoteTxt(r.value) : r.value.replace(/\.$/, '')],
      })),
    },
  };
}
