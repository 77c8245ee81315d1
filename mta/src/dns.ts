// The DNS resolver of the MTA process, set up once (main.ts) and injected (docs/architecture.md
// §2 contract 7; mailauth's opts.resolver pattern): MX, A and AAAA lookups for delivery
// (mta/src/transport/), PTR lookups for the intake's Received header. The default is
// node:dns's Resolver pointed at configurable servers (the cluster resolver in production, a
// dnsmasq on loopback in tests), with a timeout. A PTR lookup that outlasts smtp-server's own
// 1.5 s bound is abandoned by the session (it greets without the name), so one timeout serves
// both uses.
//
// Errors keep node's codes (ENOTFOUND = NXDOMAIN, ENODATA = no record of that type,
// ESERVFAIL, ETIMEOUT, ECONNREFUSED, ...); `classifyDnsError` maps them once to
// "the name does not exist / has no such record" (permanent for routing) versus
// "could not find out" (transient).
import { Resolver } from 'node:dns/promises';

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export interface DnsResolver {
  resolveMx(domain: string): Promise<MxRecord[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
  resolveTxt(name: string): Promise<string[][]>;
}

/** PTR lookups: the names of a client address, for the Received header. */
export interface ReverseResolver {
  reverse(ip: string): Promise<string[]>;
}

export interface DnsResolverOptions {
  /** Server addresses, "ip" or "ip:port" ("[v6]:port"); empty keeps the system's. */
  readonly servers?: readonly string[];
  /** Per-query timeout in ms (node retries `tries` times). */
  readonly timeoutMs?: number;
  readonly tries?: number;
}

export function createDnsResolver(options: DnsResolverOptions = {}): DnsResolver & ReverseResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5_000, tries: options.tries ?? 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  return {
    resolveMx: (domain) => resolver.resolveMx(domain),
    resolve4: (host) => resolver.resolve4(host),
    resolve6: (host) => resolver.resolve6(host),
    resolveTxt: (name) => resolver.resolveTxt(name),
    reverse: (ip) => resolver.reverse(ip),
  };
}

/** What a failed lookup means: the answer is "none", or we could not get an answer. */
export type DnsFailure = 'nxdomain' | 'nodata' | 'temporary';

export function classifyDnsError(err: unknown): DnsFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND') return 'nxdomain';
  if (code === 'ENODATA') return 'nodata';
  return 'temporary';
}
