// The metrics of the mail standards (inbound checks, DNS cache, MTA-STS, TLS-RPT, SRS), every
// label from a fixed set: methods and RFC 8601 result keywords, mailauth's fetch statuses, RFC
// 8460 result types. Domains stay in logs and in `stafette tls-report`, never in labels.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { InboundCheckObserver } from '../smtp/index.ts';
import type { FetchOutcome } from '../mta-sts/policy-store.ts';

export interface StandardsMetrics {
  readonly inbound: InboundCheckObserver;
  dnsLookup(outcome: 'hit' | 'miss' | 'error'): void;
  policyFetch(outcome: FetchOutcome): void;
  policyServed(outcome: 'served' | 'not_found' | 'bad_method'): void;
  /** One outbound TLS session to an MX host: policy type and the RFC 8460 result ("success" or a failure type). */
  tlsSession(policyType: 'sts' | 'no-policy-found', result: string): void;
  tlsReport(outcome: 'sent' | 'no_destination' | 'failed'): void;
  srs(operation: 'forward' | 'reverse', result: 'ok' | 'refused'): void;
}

const methods = new Set(['spf', 'dkim', 'arc', 'dmarc']);
const results = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

export function createStandardsMetrics(registry: Registry): StandardsMetrics {
  const registers = [registry];
  const verdicts = new Counter({
    name: 'stafette_auth_verdicts_total',
    help: 'Inbound check results on MX, by method (spf, dkim per signature, arc, dmarc) and RFC 8601 result.',
    labelNames: ['method', 'result'],
    registers,
  });
  const checkSeconds = new Histogram({
    name: 'stafette_auth_check_seconds',
    help: 'How long the inbound checks took after the end of DATA (the DNS budget bounds it).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const budget = new Counter({
    name: 'stafette_auth_dns_budget_exhausted_total',
    help: 'Messages whose DNS budget ran out (their lookups became temperror).',
    registers,
  });
  const dns = new Counter({
    name: 'stafette_dns_lookups_total',
    help: 'Lookups through the DNS cache, by outcome (hit, miss, error).',
    labelNames: ['outcome'],
    registers,
  });
  const fetches = new Counter({
    name: 'stafette_mta_sts_policy_lookups_total',
    help: 'Outbound MTA-STS policy lookups, by mailauth status (found = fetched, renewed = cache confirmed, not_found, errored).',
    labelNames: ['outcome'],
    registers,
  });
  const served = new Counter({
    name: 'stafette_mta_sts_policy_requests_total',
    help: 'Requests to our MTA-STS policy listener, by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  const sessions = new Counter({
    name: 'stafette_tls_sessions_total',
    help: 'Outbound TLS sessions to MX hosts, by policy type and RFC 8460 result (success or a failure result type).',
    labelNames: ['policy_type', 'result'],
    registers,
  });
  const reports = new Counter({ name: 'stafette_tls_reports_total', help: 'Daily TLS-RPT reports, by outcome.', labelNames: ['outcome'], registers });
  const srs = new Counter({
    name: 'stafette_srs_total',
    help: 'SRS rewrites of forwarded senders and reversals of bounces, by result.',
    labelNames: ['operation', 'result'],
    registers,
  });
  return {
    inbound: {
      verdict(method, result) {
        verdicts.inc({ method: methods.has(method) ? method : 'other', result: results.has(result) ? result : 'other' });
      },
      checked(seconds, exhausted) {
        checkSeconds.observe(seconds);
        if (exhausted) budget.inc();
      },
    },
    dnsLookup: (outcome) => dns.inc({ outcome }),
    policyFetch: (outcome) => fetches.inc({ outcome }),
    policyServed: (outcome) => served.inc({ outcome }),
    tlsSession: (policyType, result) => sessions.inc({ policy_type: policyType, result }),
    tlsReport: (outcome) => reports.inc({ outcome }),
    srs: (operation, result) => srs.inc({ operation, result }),
  };
}
