// Which domains want TLS reports and where they go: the `_smtp._tls.<domain>` TXT record
// (RFC 8460 §3): "v=TLSRPTv1; rua=mailto:tlsrpt@example.net,https://report.example.net/v1".
// Only mailto: addresses are used (the https: transport of §5.2 is not implemented; such a
// destination is skipped, and a domain with nothing else gets no report). The lookup goes
// through the DNS cache, so asking before every session costs one lookup per TTL.

export interface ReportDestinations {
  readonly mailto: readonly string[];
  readonly https: readonly string[];
}

/** The destinations of a TLS-RPT record set, or null when there is no valid record. */
export function parseTlsRptRecords(records: readonly (readonly string[])[]): ReportDestinations | null {
  const texts = records.map((r) => r.join('')).filter((t) => /^v=TLSRPTv1\s*(;|$)/.test(t));
  // More than one record is an error (RFC 8460 §3: "MUST NOT" publish several): no reports.
  if (texts.length !== 1) return null;
  const mailto: string[] = [];
  const https: string[] = [];
  for (const field of texts[0]!.split(';').slice(1)) {
    const [name, ...rest] = field.split('=');
    if (name?.trim().toLowerCase() !== 'rua') continue;
    for (const uri of rest
      .join('=')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)) {
      const m = /^mailto:([^@\s,;!?]+@[A-Za-z0-9.-]+)$/i.exec(uri);
      if (m) mailto.push(decodeURIComponent(m[1]!));
      else if (/^https:\/\//i.test(uri)) https.push(uri);
    }
  }
  return mailto.length > 0 || https.length > 0 ? { mailto, https } : null;
}

/** Looks the record up through a mailauth-shaped resolver; DNS failures count as "no report". */
export async function reportDestinations(domain: string, resolver: (name: string, type: string) => Promise<unknown>): Promise<ReportDestinations | null> {
  try {
    return parseTlsRptRecords((await resolver(`_smtp._tls.${domain}`, 'TXT')) as string[][]);
  } catch {
    return null;
  }
}
