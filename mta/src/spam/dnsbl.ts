// DNS blocklists for the client address of an MX session (docs/spam-checks.md §1): the
// address is looked up in each configured zone as RFC 5782 §2.1 describes (IPv4: the octets
// reversed, "2.0.0.127.zone"; IPv6: the 32 nibbles reversed, §2.4), and an A answer in
// 127.0.0.0/24 means "listed" (RFC 5782 §2.3). Any other answer is ignored: public lists
// answer 127.255.255.x (or a hijacking resolver some other address) to say "you may not
// query", and that is no listing. The TXT record at the same name is the list's reason; it is
// sanitised (printable ASCII, bounded) before it goes into our reply.
//
// Lookups go through the process's DNS cache (mta/src/dns/dns-cache.ts), so answers are
// kept for their TTL and one query per (address, zone) serves a burst of connections. A
// failed lookup (timeout, SERVFAIL) or one past `timeoutMs` counts as "not listed": a broken
// list must not stop our mail (fail open), the metric and the log show it.
import { isIPv4, isIPv6 } from 'node:net';
import type { CachingResolver } from '../dns/dns-cache.ts';
import type { RecordValue } from '../dns/dns-client.ts';

export interface DnsblOptions {
  /** Zones to ask, e.g. ["zen.spamhaus.org"]; empty: no lookups. */
  readonly zones: readonly string[];
  readonly cache: Pick<CachingResolver, 'resolve'>;
  /** The most one session waits for all zones together (default defaultDnsblTimeoutMs). */
  readonly timeoutMs?: number;
  readonly observer?: DnsblObserver;
}

export interface DnsblObserver {
  /** One call per zone and looked-up address; `zone` is one of the configured zones. */
  lookup(zone: string, result: 'listed' | 'clean' | 'error'): void;
}

export interface DnsblListing {
  readonly zone: string;
  /** The 127.0.0.x answers (the list's return codes). */
  readonly codes: readonly string[];
  /** The list's TXT text, sanitised; '' when it has none. */
  readonly text: string;
}

export interface DnsblChecker {
  /** The first listing of `ip` in the configured zone order, or null (not listed, or not answered). */
  check(ip: string): Promise<DnsblListing | null>;
}

export const defaultDnsblTimeoutMs = 3_000;
/** The most of a list's TXT text our reply carries (docs/spam-checks.md §1). */
export const maxListingTextLength = 200;

/** The name to look up for `ip` in `zone` (RFC 5782 §2.1, §2.4); null for what is no IP address. */
export function dnsblQueryName(ip: string, zone: string): string | null {
  const address = unmapped(ip);
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.${zone}`;
  if (!isIPv6(address)) return null;
  const nibbles = expandIPv6(address);
  return nibbles === null ? null : `${[...nibbles].reverse().join('.')}.${zone}`;
}

/** The answers that mean "listed": A records in 127.0.0.0/24 (RFC 5782 §2.3); anything else is ignored. */
export function listingCodes(values: readonly RecordValue[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && /^127\.0\.0\.(\d{1,3})$/.test(v) && Number(v.split('.')[3]) <= 255);
}

/** A list's TXT strings as one line fit for an SMTP reply: printable ASCII, spaces collapsed, bounded. */
export function sanitiseListingText(records: readonly RecordValue[]): string {
  const joined = records
    .map((r) => (typeof r === 'string' ? r : Array.isArray(r) ? r.join('') : ''))
    .join(' ')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return joined.length > maxListingTextLength ? `${joined.slice(0, maxListingTextLength - 3)}...` : joined;
}

export function createDnsblChecker(options: DnsblOptions): DnsblChecker {
  const timeoutMs = options.timeoutMs ?? defaultDnsblTimeoutMs;
  const zones = [...new Set(options.zones.map((z) => z.replace(/^\.+|\.+$/g, '').toLowerCase()).filter((z) => z !== ''))];

  async function lookupZone(ip: string, zone: string): Promise<DnsblListing | null> {
    const name = dnsblQueryName(ip, zone);
    if (name === null) return null;
    let codes: string[];
    try {
      codes = listingCodes(await options.cache.resolve(name, 'A'));
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const clean = code === 'ENOTFOUND' || code === 'ENODATA';
      options.observer?.lookup(zone, clean ? 'clean' : 'error');
      if (!clean) throw err;
      return null;
    }
    options.observer?.lookup(zone, codes.length > 0 ? 'listed' : 'clean');
    if (codes.length === 0) return null;
    const text = await options.cache.resolve(name, 'TXT').then(sanitiseListingText, () => '');
    return { zone, codes, text };
  }

  return {
    async check(ip) {
      if (zones.length === 0) return null;
      const lookups = zones.map((zone) => lookupZone(ip, zone).catch(() => null));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref();
      });
      try {
        const all = await Promise.race([Promise.all(lookups), timeout]);
        if (all === 'timeout') return null;
        return all.find((l) => l !== null) ?? null;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** The 32 hex nibbles of an IPv6 address, most significant first. */
function expandIPv6(address: string): string | null {
  let text = address.split('%')[0]!.toLowerCase();
  // An embedded IPv4 tail (::1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, -v4[1]!.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (groups.length !== 8) return null;
  return groups.map((g) => g.padStart(4, '0')).join('');
}
