// A real DNS server on loopback for the delivery tests: dnsmasq, configured entirely on its
// command line from a zone description (no /etc/resolv.conf, no /etc/hosts, no config file),
// answering only from that data. Names under the zone's `local` suffixes that it does not
// know are NXDOMAIN; a known name asked for a type it lacks is NODATA; anything else is
// REFUSED (which a resolver reports as a temporary failure).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';
import { Resolver } from 'node:dns/promises';

export interface Zone {
  /** Domain suffixes answered authoritatively from this data, e.g. ["test"]. */
  readonly local: readonly string[];
  /** domain → MX records; exchange "." is a null MX (RFC 7505). */
  readonly mx?: Readonly<Record<string, readonly { readonly exchange: string; readonly priority: number }[]>>;
  /** name → IPv4/IPv6 addresses. */
  readonly hosts?: Readonly<Record<string, readonly string[]>>;
  /** alias → target (dnsmasq answers a CNAME only for a target it knows, e.g. from hosts). */
  readonly cname?: Readonly<Record<string, string>>;
  /** name → one TXT record's text (dnsmasq splits it into 255-octet strings on the wire). */
  readonly txt?: Readonly<Record<string, string>>;
  /** TTL of every answer in seconds (dnsmasq's --local-ttl; default 0: nothing may be cached). */
  readonly ttlSeconds?: number;
  /**
   * Answer as the zone's authoritative server does: NXDOMAIN and NODATA carry the zone's SOA
   * (minimum = ttlSeconds), so a resolver may cache them (RFC 2308), as it does the negative
   * answers of real zones. Default off: dnsmasq's local answers then carry no SOA.
   */
  readonly authoritative?: boolean;
}

export interface DnsServer {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port", as node's Resolver.setServers takes it. */
  readonly address: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startDnsServer(zone: Zone, options: { host?: string; port?: number; logDir?: string } = {}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  // A fixed port when something must know it before the server starts (e.g. CoreDNS's forward).
  const port = options.port ?? (await freePort(host));
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'stafette-dns-'));
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--listen-address=${host}`,
    '--bind-interfaces',
    `--port=${port}`,
    '--pid-file=',
    '--user=root',
    '--cache-size=0',
    '--log-queries',
    '--log-facility=-',
    ...zoneArgs(zone, host),
  ];
  const proc = startProcess(`dnsmasq-${port}`, '/usr/sbin/dnsmasq', args, { logDir });
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`${host}:${port}`]);
  await waitFor(
    'dnsmasq to answer',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`dnsmasq exited with ${proc.child.exitCode}; see ${proc.logFile}`);
      try {
        await resolver.resolveSoa('probe.invalid');
        return true;
      } catch (err) {
        // Any DNS answer (even REFUSED) proves it listens; a timeout does not.
        return (err as { code?: string }).code !== 'ETIMEOUT' && (err as { code?: string }).code !== 'ECONNREFUSED';
      }
    },
    { timeoutMs: 10_000 },
  );
  return { host, port, address: `${host}:${port}`, process: proc, stop: () => proc.stop() };
}

/** The dnsmasq options for a zone; exported so a test can show what was served. */
export function zoneArgs(zone: Zone, host = '127.0.0.1'): string[] {
  const args = zone.local.map((suffix) => `--local=/${suffix}/`);
  if (zone.ttlSeconds) args.push(`--local-ttl=${zone.ttlSeconds}`);
  if (zone.authoritative) {
    args.push(
      `--auth-server=ns.${zone.local[0] ?? 'test'},${host}`,
      ...zone.local.map((suffix) => `--auth-zone=${suffix}`),
      `--auth-ttl=${zone.ttlSeconds ?? 0}`,
    );
  }
  for (const [domain, records] of Object.entries(zone.mx ?? {})) {
    for (const r of records) args.push(`--mx-host=${domain},${r.exchange},${r.priority}`);
  }
  for (const [name, addresses] of Object.entries(zone.hosts ?? {})) {
    for (const a of addresses) args.push(`--host-record=${name},${a}`);
  }
  for (const [alias, target] of Object.entries(zone.cname ?? {})) args.push(`--cname=${alias},${target}`);
  for (const [name, text] of Object.entries(zone.txt ?? {})) {
    // On the command line dnsmasq takes the text as is (quotes would be kept literally) and
    // a comma starts another string, so refuse texts it would change.
    if (/[",\\]/.test(text)) throw new Error(`TXT text for ${name} must not contain quotes, commas or backslashes`);
    args.push(`--txt-record=${name},${text}`);
  }
  return args;
}
