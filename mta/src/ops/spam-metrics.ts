// The metrics of the spam checks (docs/spam-checks.md): DNSBL lookups by zone and result, and
// the spam filter's verdicts. Zones come from the MTA's configuration (a handful), never from
// clients; every other label is from a fixed set.
import { Counter, type Registry } from 'prom-client';
import type { DnsblObserver } from '../spam/dnsbl.ts';

export interface SpamMetrics {
  readonly dnsbl: DnsblObserver;
  /** One message the spam filter was asked about (or could not be), by what the MTA did. */
  spamVerdict(action: 'accept' | 'mark' | 'reject' | 'error_accept' | 'error_defer'): void;
}

/** The zones a metric may name: the configured ones; anything else would be "other". */
export function createSpamMetrics(registry: Registry, zones: readonly string[]): SpamMetrics {
  const registers = [registry];
  const known = new Set(zones.map((z) => z.replace(/^\.+|\.+$/g, '').toLowerCase()));
  const lookups = new Counter({
    name: 'stafette_dnsbl_lookups_total',
    help: 'DNS blocklist lookups of MX client addresses, by configured zone and result (listed, clean, error).',
    labelNames: ['zone', 'result'],
    registers,
  });
  const verdicts = new Counter({
    name: 'stafette_spam_verdicts_total',
    help: 'Messages the spam filter (rspamd) was asked about on MX, by action (accept, mark, reject, error_accept, error_defer).',
    labelNames: ['action'],
    registers,
  });
  return {
    dnsbl: { lookup: (zone, result) => lookups.inc({ zone: known.has(zone) ? zone : 'other', result }) },
    spamVerdict: (action) => verdicts.inc({ action }),
  };
}
