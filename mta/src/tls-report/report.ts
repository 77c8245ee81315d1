// TLS-RPT (RFC 8460): what our outbound TLS sessions to each recipient domain looked like over
// one UTC day, counted per policy domain, and the aggregate report that is mailed to the
// domain's `rua` the day after. Pure: counters in, counters or report JSON out (the shared
// store is report-store.ts, the mail report-mail.ts).
//
// One session = one connection to one MX host for delivery. Success: TLS was negotiated and,
// where the policy asks for it, the certificate verified. Failure: one of RFC 8460 §4.3's
// result types, with the MX host and addresses (failure-details). Domains are counted only
// when they publish a TLS-RPT record (report-policy.ts decides), so the counters stay bounded by
// the domains that asked for reports.
import type { TlsResultType } from '../outbound-tls/tls-requirements.ts';

export type PolicyType = 'sts' | 'no-policy-found';

export interface SessionResult {
  readonly policyDomain: string;
  readonly policyType: PolicyType;
  /** RFC 8460 policy-string (the MTA-STS policy file's lines), empty for no-policy-found. */
  readonly policyLines: readonly string[];
  /** The policy's mx patterns (RFC 8460 "mx-host"). */
  readonly mxPatterns: readonly string[];
  readonly failure: null | {
    readonly resultType: TlsResultType;
    readonly receivingMx: string;
    readonly receivingIp: string;
    readonly sendingIp: string | null;
  };
}

/** The counts of one policy domain for one day (JSON-safe: stored as is). */
export interface DomainCounters {
  readonly policyType: PolicyType;
  readonly policyLines: readonly string[];
  readonly mxPatterns: readonly string[];
  readonly success: number;
  /** `resultType|receivingMx|receivingIp|sendingIp` → sessions. */
  readonly failures: Readonly<Record<string, number>>;
}

export function countSession(current: DomainCounters | undefined, s: SessionResult): DomainCounters {
  const base: DomainCounters = current ?? { policyType: s.policyType, policyLines: s.policyLines, mxPatterns: s.mxPatterns, success: 0, failures: {} };
  // The latest policy seen wins (a domain may change its policy during the day).
  const updated = { ...base, policyType: s.policyType, policyLines: [...s.policyLines], mxPatterns: [...s.mxPatterns] };
  if (!s.failure) return { ...updated, success: base.success + 1 };
  const key = [s.failure.resultType, s.failure.receivingMx, s.failure.receivingIp, s.failure.sendingIp ?? ''].join('|');
  return { ...updated, failures: { ...base.failures, [key]: (base.failures[key] ?? 0) + 1 } };
}

/** Adds two sets of counts of one domain (pods flush their own counts into the shared ones). */
export function mergeCounters(a: DomainCounters | undefined, b: DomainCounters): DomainCounters {
  if (!a) return b;
  const failures: Record<string, number> = { ...a.failures };
  for (const [k, n] of Object.entries(b.failures)) failures[k] = (failures[k] ?? 0) + n;
  return { policyType: b.policyType, policyLines: b.policyLines, mxPatterns: b.mxPatterns, success: a.success + b.success, failures };
}

export function failureCount(c: DomainCounters): number {
  return Object.values(c.failures).reduce((n, x) => n + x, 0);
}

export interface ReportIdentity {
  /** RFC 8460 organization-name. */
  readonly organization: string;
  /** Our hostname, the report's submitter. */
  readonly submitter: string;
  /** contact-info: an address for questions about the report. */
  readonly contact: string;
}

/** The RFC 8460 §4.4 report of one policy domain for the UTC day `day` (YYYY-MM-DD). */
export function renderReport(day: string, policyDomain: string, counters: DomainCounters, who: ReportIdentity): object {
  const start = `${day}T00:00:00Z`;
  const end = `${day}T23:59:59Z`;
  return {
    'organization-name': who.organization,
    'date-range': { 'start-datetime': start, 'end-datetime': end },
    'contact-info': who.contact,
    'report-id': reportId(day, policyDomain, who.submitter),
    policies: [
      {
        policy: {
          'policy-type': counters.policyType,
          ...(counters.policyLines.length > 0 ? { 'policy-string': counters.policyLines } : {}),
          'policy-domain': policyDomain,
          ...(counters.mxPatterns.length > 0 ? { 'mx-host': counters.mxPatterns } : {}),
        },
        summary: { 'total-successful-session-count': counters.success, 'total-failure-session-count': failureCount(counters) },
        ...(failureCount(counters) > 0
          ? {
              'failure-details': Object.entries(counters.failures)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([key, n]) => {
                  const [resultType, mx, ip, sendingIp] = key.split('|');
                  return {
                    'result-type': resultType,
                    ...(sendingIp ? { 'sending-mta-ip': sendingIp } : {}),
                    'receiving-mx-hostname': mx,
                    ...(ip ? { 'receiving-ip': ip } : {}),
                    'failed-session-count': n,
                  };
                }),
            }
          : {}),
      },
    ],
  };
}

/** A report id unique per (day, domain, submitter): the same report sent twice has the same id. */
export function reportId(day: string, policyDomain: string, submitter: string): string {
  return `${day}T00:00:00Z_${policyDomain}@${submitter}`;
}

/** The UTC day of an instant, YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
