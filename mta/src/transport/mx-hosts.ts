// Which hosts receive mail for a domain (RFC 5321 §5.1), through the injected resolver:
//  - the MX records in preference order, equal preferences shuffled (§5.1 "randomize");
//  - no MX records (NODATA) → the domain itself as the one host (the implicit MX);
//  - a null MX (RFC 7505: a single "0 ." record) → the domain accepts no mail: permanent
//    556 5.1.10;
//  - NXDOMAIN for the domain (or for its implicit MX host) → permanent 550 5.1.2;
//  - SERVFAIL, timeouts, refused → transient 451 4.4.3 (try again later).
// Each host's addresses come from A, then AAAA. Hosts whose names do not resolve are
// skipped; when none has an address: transient 4.4.3 if any lookup failed temporarily, else
// permanent 550 5.4.4 (the domain's MX hosts do not exist).
import { C, SE } from '../codes.ts';
import { classifyDnsError, type DnsResolver, type MxRecord } from '../dns.ts';
import { describeError } from '../errors.ts';
import { reply, type Reply } from '../reply.ts';

export interface MailHost {
  /** The MX host name (or the domain, for the implicit MX). */
  readonly name: string;
  readonly addresses: readonly string[];
}

export interface HostLookupFailure {
  readonly status: 'transient' | 'permanent';
  readonly reply: Reply;
  readonly reason: string;
}

export type MailHostsResult = { readonly ok: true; readonly hosts: readonly MailHost[] } | ({ readonly ok: false } & HostLookupFailure);

export interface MailHostsOptions {
  /** Returns a number in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number;
  /** At most this many MX hosts are looked up and tried. */
  readonly maxHosts?: number;
  /** Which address families to use, in order. */
  readonly families?: readonly (4 | 6)[];
}

export async function findMailHosts(domain: string, resolver: DnsResolver, options: MailHostsOptions = {}): Promise<MailHostsResult> {
  let records: MxRecord[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    const failure = classifyDnsError(err);
    if (failure === 'nxdomain')
      return fail('permanent', reply(C.C550MailboxUnavailable, SE.BadDestSystem2, `Domain ${domain} does not exist`), `MX lookup for ${domain}: NXDOMAIN`);
    if (failure === 'temporary')
      return fail(
        'transient',
        reply(C.C451LocalError, SE.DirectoryFailure3, `Could not look up the mail servers of ${domain}`),
        `MX lookup for ${domain} failed: ${describeError(err)}`,
      );
    records = [];
  }
  if (isNullMx(records))
    return fail(
      'permanent',
      reply(C.C556DomainNoMail, SE.NullMx10, `Domain ${domain} does not accept mail (null MX)`),
      `${domain} publishes a null MX (RFC 7505)`,
    );
  const names =
    records.length === 0
      ? [domain]
      : orderMx(
          records.filter((r) => !isNullExchange(r.exchange)),
          options.random ?? Math.random,
        );
  const limited = names.slice(0, options.maxHosts ?? 10);

  const hosts: MailHost[] = [];
  const problems: string[] = [];
  let temporary = false;
  let domainMissing = false;
  for (const name of limited) {
    const found = await addressesOf(name, resolver, options.families ?? [4, 6]);
    if (found.addresses.length > 0) hosts.push({ name, addresses: found.addresses });
    temporary ||= found.temporary;
    if (found.nxdomain && name === domain && records.length === 0) domainMissing = true;
    if (found.problem) problems.push(found.problem);
  }
  if (hosts.length > 0) return { ok: true, hosts };
  if (temporary)
    return fail('transient', reply(C.C451LocalError, SE.DirectoryFailure3, `Could not look up the mail servers of ${domain}`), problems.join('; '));
  if (domainMissing) return fail('permanent', reply(C.C550MailboxUnavailable, SE.BadDestSystem2, `Domain ${domain} does not exist`), problems.join('; '));
  return fail(
    'permanent',
    reply(C.C550MailboxUnavailable, SE.UnableToRoute4, `Unable to route to ${domain}: its mail servers have no address`),
    problems.join('; '),
  );
}

/** Sorts by preference (lowest first); hosts of equal preference in random order. */
export function orderMx(records: readonly MxRecord[], random: () => number): string[] {
  const byPreference = new Map<number, string[]>();
  for (const r of records) {
    const name = r.exchange.replace(/\.$/, '').toLowerCase();
    const list = byPreference.get(r.priority) ?? [];
    if (!list.includes(name)) list.push(name);
    byPreference.set(r.priority, list);
  }
  const out: string[] = [];
  for (const preference of [...byPreference.keys()].sort((a, b) => a - b)) {
    const list = byPreference.get(preference)!;
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    for (const name of list) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** RFC 7505: exactly one MX record, preference 0, exchange "." (node reports it as ""). */
export function isNullMx(records: readonly MxRecord[]): boolean {
  return records.length === 1 && isNullExchange(records[0]!.exchange);
}

function isNullExchange(exchange: string): boolean {
  return exchange === '' || exchange === '.';
}

async function addressesOf(name: string, resolver: DnsResolver, families: readonly (4 | 6)[]) {
  const addresses: string[] = [];
  let temporary = false;
  let nxdomain = false;
  const problems: string[] = [];
  for (const family of families) {
    try {
      addresses.push(...(await (family === 4 ? resolver.resolve4(name) : resolver.resolve6(name))));
    } catch (err) {
      const failure = classifyDnsError(err);
      if (failure === 'temporary') temporary = true;
      if (failure === 'nxdomain') nxdomain = true;
      if (failure !== 'nodata') problems.push(`${family === 4 ? 'A' : 'AAAA'} lookup for ${name}: ${describeError(err)}`);
    }
  }
  if (addresses.length === 0 && problems.length === 0) problems.push(`${name} has no A or AAAA record`);
  return { addresses, temporary, nxdomain, problem: addresses.length === 0 ? problems.join(', ') : undefined };
}

function fail(status: 'transient' | 'permanent', reply: Reply, reason: string): MailHostsResult {
  return { ok: false, status, reply, reason };
}
