// Part of the MTA's composition (main.ts): the checks on mail arriving on the MX listener, on
// the mail checks' own DNS (TTLs respected, dns/dns-cache.ts; the same servers as every other
// lookup): SPF/DKIM/ARC/DMARC (docs/mail-standards.md), DNS blocklists and rspamd
// (docs/spam-checks.md), with their metrics. The cache and the standards metrics also serve
// the outbound standards and our MTA-STS policy server.
import { getServers } from 'node:dns';
import type { Registry } from 'prom-client';
import { createCachingResolver, type CachingResolver } from './dns/dns-cache.ts';
import { createDnsClient } from './dns/dns-client.ts';
import { createSpamMetrics } from './ops/spam-metrics.ts';
import { createStandardsMetrics, type StandardsMetrics } from './ops/standards-metrics.ts';
import type { IntakeOptions } from './smtp/index.ts';
import { createDnsblChecker } from './spam/dnsbl.ts';
import { createSpamFilter, type SpamFilterOptions } from './spam/rspamd.ts';

export interface MtaStandardsOptions {
  /** SPF/DKIM/ARC/DMARC on the MX listener (default on). */
  readonly inboundChecks?: boolean;
  /** DNS time one message's checks may use in total (default 10 s, dns/lookup-budget.ts). */
  readonly dnsBudgetMs?: number;
  /** Entries of the DNS cache (default dns/dns-cache.ts). */
  readonly dnsCacheEntries?: number;
  /** Where our MTA-STS policies are served over HTTPS (mta-sts/policy-server.ts); null: not served. */
  readonly policyServer?: { readonly host: string; readonly port: number } | null;
  /** Extra trusted CAs (PEM) besides the system's, for MX hosts, relays and policy hosts. */
  readonly extraCaPem?: string;
  /** A delay notice goes out after this long (default 4 h, dsn/notices.ts); null: never. */
  readonly delayNoticeAfterMs?: number | null;
}

export interface MtaSpamOptions {
  /** DNS blocklist zones asked for each MX client address; empty: none (spam/dnsbl.ts). */
  readonly dnsblZones?: readonly string[];
  /** The most a session waits for the blocklists (default defaultDnsblTimeoutMs). */
  readonly dnsblTimeoutMs?: number;
  /** rspamd asked about each MX message (spam/rspamd.ts); absent or null: not asked. */
  readonly rspamd?: SpamFilterOptions | null;
}

export interface MailChecks {
  readonly dnsCache: CachingResolver;
  readonly standardsMetrics: StandardsMetrics;
  /** What createIntake() takes of them. */
  readonly intake: Pick<IntakeOptions, 'dnsbl' | 'spamFilter' | 'inboundChecks'>;
}

export function composeMailChecks(
  registry: Registry,
  options: { readonly dnsServers?: readonly string[]; readonly standards: MtaStandardsOptions; readonly spam: MtaSpamOptions },
): MailChecks {
  const { standards, spam } = options;
  const standardsMetrics = createStandardsMetrics(registry);
  const spamMetrics = createSpamMetrics(registry, spam.dnsblZones ?? []);
  const dnsCache = createCachingResolver({
    query: createDnsClient({ servers: options.dnsServers?.length ? options.dnsServers : getServers() }),
    observer: { lookup: (o) => standardsMetrics.dnsLookup(o) },
    ...(standards.dnsCacheEntries ? { maxEntries: standards.dnsCacheEntries } : {}),
  });
  return {
    dnsCache,
    standardsMetrics,
    intake: {
      dnsbl: spam.dnsblZones?.length
        ? createDnsblChecker({
            zones: spam.dnsblZones,
            cache: dnsCache,
            observer: spamMetrics.dnsbl,
            ...(spam.dnsblTimeoutMs !== undefined ? { timeoutMs: spam.dnsblTimeoutMs } : {}),
          })
        : null,
      spamFilter: spam.rspamd ? createSpamFilter({ ...spam.rspamd, observer: spamMetrics }) : null,
      inboundChecks:
        standards.inboundChecks === false
          ? null
          : {
              cache: dnsCache,
              observer: standardsMetrics.inbound,
              ...(standards.dnsBudgetMs !== undefined ? { budgetMs: standards.dnsBudgetMs } : {}),
            },
    },
  };
}
