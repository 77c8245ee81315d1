// The DNS cache of one MTA process: every lookup of the mail checks (SPF, DKIM keys, DMARC,
// ARC, MTA-STS) goes through it, so a burst of mail from one sender costs one lookup per
// record per TTL, not one per message.
//
// Rules:
//  - an answer is kept for its TTL (the smallest of the record set), capped at `maxTtlSeconds`
//    (a zone asking for a week does not pin a stale key that long); TTL 0 is not cached;
//  - a negative answer (NXDOMAIN, NODATA) is kept for min(SOA TTL, SOA minimum) (RFC 2308 §5),
//    capped at `maxNegativeTtlSeconds`; without an SOA it is not cached;
//  - a failure to get an answer (timeout, SERVFAIL, REFUSED) is never cached: the next message
//    asks again;
//  - concurrent lookups of one (name, type) share one query;
//  - at most `maxEntries` entries; the least recently used go first.
// The result has node:dns's shapes (resolveTxt: string[][], resolveMx: {exchange, priority}[],
// resolve4/6, resolvePtr, resolveCname: string[]) and failures its error codes.
import { DnsError, type DnsAnswer, type DnsQuery, type LookupType, type RecordValue } from './dns-client.ts';

export interface DnsCacheOptions {
  readonly query: DnsQuery;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  readonly maxEntries?: number;
  readonly maxTtlSeconds?: number;
  readonly maxNegativeTtlSeconds?: number;
  readonly observer?: DnsCacheObserver;
}

/** Counts for the metrics: one call per lookup. */
export interface DnsCacheObserver {
  lookup(outcome: 'hit' | 'miss' | 'error'): void;
}

export interface CachingResolver {
  /**
   * The records of `type` at `name`, or a rejection with a node:dns error code. A lookup shared
   * by several callers runs to its own timeout; a caller that cannot wait that long races it
   * (lookup-budget.ts), and the answer still lands in the cache for the next message.
   */
  resolve(name: string, type: LookupType): Promise<RecordValue[]>;
  /** Entries held now. */
  size(): number;
}

export const defaultDnsCacheLimits = { maxEntries: 10_000, maxTtlSeconds: 3_600, maxNegativeTtlSeconds: 900 } as const;

interface Entry {
  readonly answer: DnsAnswer;
  readonly expiresAt: number;
}

export function createCachingResolver(options: DnsCacheOptions): CachingResolver {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? defaultDnsCacheLimits.maxEntries;
  const maxTtl = options.maxTtlSeconds ?? defaultDnsCacheLimits.maxTtlSeconds;
  const maxNegativeTtl = options.maxNegativeTtlSeconds ?? defaultDnsCacheLimits.maxNegativeTtlSeconds;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<DnsAnswer>>();

  function remember(key: string, answer: DnsAnswer): void {
    const ttl = answer.ok ? Math.min(answer.ttl, maxTtl) : answer.ttl === null ? 0 : Math.min(answer.ttl, maxNegativeTtl);
    if (ttl <= 0) return;
    entries.delete(key);
    entries.set(key, { answer, expiresAt: now() + ttl * 1000 });
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  }

  function fresh(key: string): DnsAnswer | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    entries.delete(key); // most recently used goes last
    entries.set(key, entry);
    return entry.answer;
  }

  return {
    async resolve(name, type) {
      const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
      let answer = fresh(key);
      if (answer) options.observer?.lookup('hit');
      else {
        let pending = inFlight.get(key);
        if (!pending) {
          pending = options.query(name, type).finally(() => inFlight.delete(key));
          inFlight.set(key, pending);
        }
        try {
          answer = await pending;
        } catch (err) {
          options.observer?.lookup('error');
          throw err;
        }
        options.observer?.lookup('miss');
        remember(key, answer);
      }
      if (!answer.ok) throw new DnsError(answer.code, `${answer.code === 'ENOTFOUND' ? 'NXDOMAIN' : 'no records'} for ${type} ${name}`);
      return [...answer.values];
    },
    size: () => entries.size,
  };
}
