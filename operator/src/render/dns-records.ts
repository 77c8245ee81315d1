// The DNS records a domain needs, computed from its resolved spec and DKIM keys:
// exactly what a person (or ExternalDNS) publishes. Values are in zone-file form;
// TXT values longer than 255 bytes are split into several quoted strings, because
// one DNS character-string holds at most 255 bytes (RFC 1035 §3.3) and a 2048-bit
// RSA key alone is longer than that.
import { createHash } from 'node:crypto';
import type { MailDomainSpecResolved } from '../../../crds/src/index.ts';
import type { DkimKeyMaterial } from './input.ts';

export type RecordPurpose = 'MX' | 'SPF' | 'DKIM' | 'DMARC' | 'MTA-STS' | 'TLS-RPT';

export interface DnsRecord {
  /** Fully qualified, without the trailing dot. */
  name: string;
  type: 'MX' | 'TXT' | 'CNAME';
  value: string;
  purpose: RecordPurpose;
}

const maxStringBytes = 255;

/** A TXT value as quoted character-strings of at most 255 bytes each. */
export function txtValue(text: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += maxStringBytes) chunks.push(text.slice(i, i + maxStringBytes));
  return chunks.map((c) => `"${c.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(' ');
}

/** The text of a DKIM key record (RFC 6376 §3.6.1, RFC 8463 for ed25519). */
export function dkimRecordText(key: Pick<DkimKeyMaterial, 'algorithm' | 'publicKey'>): string {
  const k = key.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  return `v=DKIM1; k=${k}; p=${key.publicKey}`;
}

/** The policy id: it changes whenever the policy does, which is what tells senders to fetch it again. */
export function mtaStsPolicyId(policy: string): string {
  return createHash('sha256').update(policy).digest('hex').slice(0, 20);
}

const spfQualifier = { fail: '-all', softfail: '~all', neutral: '?all' } as const;

/** The MTA-STS policy file (RFC 8461 §3.2), served at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
export function mtaStsPolicy(spec: MailDomainSpecResolved, hostname: string): string | null {
  const { mode, maxAgeSeconds } = spec.dns.mtaSts;
  if (mode === 'none') return null;
  return `version: STSv1\nmode: ${mode}\nmx: ${hostname}\nmax_age: ${maxAgeSeconds}\n`;
}

/** The host senders fetch a domain's MTA-STS policy from (RFC 8461 §3.3). */
export function mtaStsHost(domain: string): string {
  return `mta-sts.${domain}`;
}

/**
 * Every record for the domain, in a stable order: MX, SPF, DKIM (one per key),
 * DMARC, MTA-STS, TLS-RPT. `keys` are the keys to publish (signing and pending).
 * The MTA-STS records (the policy id at _mta-sts, and mta-sts.<domain> pointing at the MX
 * host, where the MTA serves the policy) only when `mtaStsServed`: an id without a policy
 * behind it makes senders fail every fetch.
 */
export function dnsRecordsFor(spec: MailDomainSpecResolved, hostname: string, keys: DkimKeyMaterial[], mtaStsServed = true): DnsRecord[] {
  const domain = spec.domain;
  const postmaster = `postmaster@${domain}`;
  const records: DnsRecord[] = [{ name: domain, type: 'MX', value: `10 ${hostname}.`, purpose: 'MX' }];

  const spf = ['v=spf1', 'mx', ...(spec.dns.spf.mechanisms ?? []), spfQualifier[spec.dns.spf.policy]].join(' ');
  records.push({ name: domain, type: 'TXT', value: txtValue(spf), purpose: 'SPF' });

  for (const key of keys) {
    records.push({ name: `${key.selector}._domainkey.${domain}`, type: 'TXT', value: txtValue(dkimRecordText(key)), purpose: 'DKIM' });
  }

  const dmarc = spec.dns.dmarc;
  const rua = (dmarc.reportTo?.length ? dmarc.reportTo : [postmaster]).map((a) => `mailto:${a}`).join(',');
  const dmarcTags = [`v=DMARC1`, `p=${dmarc.policy}`, `rua=${rua}`];
  if (dmarc.percent !== 100) dmarcTags.push(`pct=${dmarc.percent}`);
  records.push({ name: `_dmarc.${domain}`, type: 'TXT', value: txtValue(dmarcTags.join('; ')), purpose: 'DMARC' });

  const policy = mtaStsPolicy(spec, hostname);
  if (policy && mtaStsServed) {
    records.push({ name: `_mta-sts.${domain}`, type: 'TXT', value: txtValue(`v=STSv1; id=${mtaStsPolicyId(policy)}`), purpose: 'MTA-STS' });
    records.push({ name: mtaStsHost(domain), type: 'CNAME', value: `${hostname}.`, purpose: 'MTA-STS' });
  }

  const tlsRua = (spec.dns.tlsRpt.reportTo?.length ? spec.dns.tlsRpt.reportTo : [postmaster]).map((a) => `mailto:${a}`).join(',');
  records.push({ name: `_smtp._tls.${domain}`, type: 'TXT', value: txtValue(`v=TLSRPTv1; rua=${tlsRua}`), purpose: 'TLS-RPT' });
  return records;
}
