// The address book of one bundle: who a recipient is, and which addresses a login may send
// as. Intake asks it at RCPT (policy/recipient-policy.ts) and routing asks it at delivery
// (delivery/routing.ts), so the two cannot disagree on who exists. Built once per bundle
// object (the bundle is immutable once loaded; a reload brings a new object), so lookups are
// map hits.
//
// Who a normalised address in one of our domains is, in this order:
//   1. a mailbox with exactly this address;
//   2. an alias with exactly this address (its `to` addresses);
//   3. `local+tag@domain` (RFC 5233, withoutSubaddress in bundle/address.ts) when
//      `local@domain` is a mailbox or an alias: that address;
//   4. the domain's catch-all address, unless it is this very address (a catch-all that
//      names no mailbox or alias would otherwise stand for itself);
//   5. else nobody: intake refuses it at RCPT, routing bounces it (the bundle may have
//      changed between the two).
//
// Expansion (`expand`): what an address finally stands for, following aliases, subaddresses
// and catch-alls down to mailboxes, remote addresses and SRS addresses (which routing reverses).
// Work is bounded (docs/reliability.md "Limits"): each address of ours is expanded once per
// directory and limits (memoised), so a lattice of aliases that would fan out exponentially
// costs one pass over its edges; a result holds at most `maxTargets` distinct targets
// (default 1,000) and at most `maxDepth` steps (default 10); over either, or on a loop, the
// address fails with a named problem that intake refuses at RCPT and routing bounces, both
// as permanent 550 5.4.6 (codes.ts SE.RoutingLoop6).
import { domainOf, normalizeAddress, normalizeDomain, withoutSubaddress } from '../../bundle/address.ts';
import { aliasExpansionLimits, type Bundle, type BundleDomain, type BundleMailbox } from '../../bundle/schema.ts';
import { isSrsLocalPart } from './srs/srs.ts';

/** Who a recipient is; alias, subaddress and catch-all name the address(es) it stands for. */
export type RecipientMatch =
  | { readonly kind: 'mailbox'; readonly mailbox: BundleMailbox }
  | { readonly kind: 'alias'; readonly to: readonly string[] }
  | { readonly kind: 'subaddress'; readonly base: string }
  | { readonly kind: 'catch-all'; readonly catchAll: string };

/** Default for how many distinct targets one address may expand to (docs/reliability.md "Limits"). */
export const defaultMaxExpansionTargets = aliasExpansionLimits.maxTargets;
/** Default for how many alias/catch-all steps one address may take. */
export const defaultMaxExpansionDepth = aliasExpansionLimits.maxDepth;

export interface ExpansionLimits {
  readonly maxTargets?: number;
  readonly maxDepth?: number;
}

/** Where an expansion ends: a mailbox of ours, a remote address as written, or an SRS address of ours. */
export type ExpansionTarget =
  | { readonly kind: 'mailbox'; readonly mailbox: BundleMailbox }
  | { readonly kind: 'remote'; readonly address: string; readonly domain: string }
  | { readonly kind: 'srs'; readonly address: string };

/** Problems that mean the address costs more work than we allow (not a missing or malformed address). */
export type BoundedWorkProblem = 'loop' | 'too-deep' | 'too-many';
export type ExpansionProblem = 'syntax' | 'unknown' | BoundedWorkProblem;

export type Expansion =
  | { readonly ok: true; readonly targets: readonly ExpansionTarget[] }
  | { readonly ok: false; readonly problem: ExpansionProblem; readonly address: string; readonly detail: string };

export function isBoundedWorkProblem(problem: ExpansionProblem): problem is BoundedWorkProblem {
  return problem === 'loop' || problem === 'too-deep' || problem === 'too-many';
}

export interface Directory {
  /** Our domain for `domain` (normalised), if we receive mail for it. */
  domain(domain: string): BundleDomain | undefined;
  /** The mailbox at exactly this normalised address. */
  mailbox(address: string): BundleMailbox | undefined;
  /** Who this normalised address of one of our domains is (rules 1-4 above); null: nobody. */
  recipient(address: string): RecipientMatch | null;
  /** Addresses of aliases that deliver to `mailbox` (a user may send as its aliases). */
  aliasesOf(mailbox: string): readonly string[];
  /** What an address (as written) finally stands for, bounded and memoised (see the top of this file). */
  expand(address: string, limits?: ExpansionLimits): Expansion;
}

const built = new WeakMap<Bundle, Directory>();

export function directoryOf(bundle: Bundle): Directory {
  let dir = built.get(bundle);
  if (!dir) {
    dir = buildDirectory(bundle);
    built.set(bundle, dir);
  }
  return dir;
}

function buildDirectory(bundle: Bundle): Directory {
  const domains = new Map(bundle.domains.map((d) => [d.domain, d]));
  const mailboxes = new Map(bundle.mailboxes.map((m) => [m.address, m]));
  const aliases = new Map(bundle.aliases.map((a) => [a.address, a.to]));
  const aliasesByTarget = new Map<string, string[]>();
  for (const alias of bundle.aliases) {
    for (const target of alias.to) {
      const list = aliasesByTarget.get(target) ?? [];
      list.push(alias.address);
      aliasesByTarget.set(target, list);
    }
  }
  const exists = (address: string) => mailboxes.has(address) || aliases.has(address);
  const recipient = (address: string): RecipientMatch | null => {
    const mailbox = mailboxes.get(address);
    if (mailbox) return { kind: 'mailbox', mailbox };
    const to = aliases.get(address);
    if (to) return { kind: 'alias', to };
    const base = withoutSubaddress(address);
    if (base !== null && exists(base)) return { kind: 'subaddress', base };
    const catchAll = domains.get(domainOf(address))?.inbound.catchAll;
    if (catchAll && catchAll !== address) return { kind: 'catch-all', catchAll };
    return null;
  };
  const expanders = new Map<string, (address: string) => Expansion>();
  return {
    domain: (d) => domains.get(d),
    mailbox: (a) => mailboxes.get(a),
    recipient,
    aliasesOf: (m) => aliasesByTarget.get(m) ?? [],
    expand(address, limits = {}) {
      const maxTargets = limits.maxTargets ?? defaultMaxExpansionTargets;
      const maxDepth = limits.maxDepth ?? defaultMaxExpansionDepth;
      const key = `${maxTargets}/${maxDepth}`;
      let expander = expanders.get(key);
      if (!expander) {
        expander = createExpander((d) => domains.has(d), recipient, maxTargets, maxDepth);
        expanders.set(key, expander);
      }
      return expander(address);
    },
  };
}

type Failure = Extract<Expansion, { ok: false }>;
/** An expanded address of ours: its targets by a dedupe key, and the longest chain of steps below it. */
type Node = { readonly ok: true; readonly targets: ReadonlyMap<string, ExpansionTarget>; readonly height: number } | Failure;

function createExpander(ours: (domain: string) => boolean, recipient: (address: string) => RecipientMatch | null, maxTargets: number, maxDepth: number) {
  const memo = new Map<string, Node>();
  const active = new Set<string>();
  const leaf = (key: string, target: ExpansionTarget): Node => ({ ok: true, targets: new Map([[key, target]]), height: 0 });

  const node = (raw: string): Node => {
    const at = raw.lastIndexOf('@');
    if (at > 0 && isSrsLocalPart(raw.slice(0, at)) && ours(normalizeDomain(raw.slice(at + 1)) ?? '')) return leaf(`s:${raw}`, { kind: 'srs', address: raw });
    const normal = normalizeAddress(raw);
    if (!normal) return { ok: false, problem: 'syntax', address: raw, detail: `${JSON.stringify(raw)} is not a routable address` };
    // Remote: the address goes out as written (a remote local part may be case-sensitive).
    if (!ours(normal.domain)) return leaf(`r:${raw}`, { kind: 'remote', address: raw, domain: normal.domain });
    const address = normal.address;
    const known = memo.get(address);
    if (known) return known;
    if (active.has(address)) return { ok: false, problem: 'loop', address, detail: `alias expansion loops at ${address}` };
    const match = recipient(address);
    let result: Node;
    if (!match) result = { ok: false, problem: 'unknown', address, detail: `${address} does not exist` };
    else if (match.kind === 'mailbox') result = leaf(`m:${match.mailbox.address}`, { kind: 'mailbox', mailbox: match.mailbox });
    else {
      active.add(address);
      try {
        result = union(address, standsFor(match));
      } finally {
        active.delete(address);
      }
    }
    memo.set(address, result);
    return result;
  };

  const union = (address: string, children: readonly string[]): Node => {
    const targets = new Map<string, ExpansionTarget>();
    let height = 0;
    for (const child of children) {
      const sub = node(child);
      if (!sub.ok) return sub;
      height = Math.max(height, sub.height + 1);
      if (height > maxDepth) return { ok: false, problem: 'too-deep', address, detail: `alias expansion of ${address} is deeper than ${maxDepth}` };
      for (const [k, t] of sub.targets) targets.set(k, t);
      if (targets.size > maxTargets)
        return { ok: false, problem: 'too-many', address, detail: `alias expansion of ${address} has more than ${maxTargets} targets` };
    }
    return { ok: true, targets, height };
  };

  return (address: string): Expansion => {
    const result = node(address);
    return result.ok ? { ok: true, targets: [...result.targets.values()] } : result;
  };
}

/** The addresses an alias, a subaddress or a catch-all stands for, each resolved again. */
function standsFor(match: Exclude<RecipientMatch, { kind: 'mailbox' }>): readonly string[] {
  switch (match.kind) {
    case 'alias':
      return match.to;
    case 'subaddress':
      return [match.base];
    case 'catch-all':
      return [match.catchAll];
  }
}
