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
import { domainOf, withoutSubaddress } from '../../bundle/address.ts';
import type { Bundle, BundleDomain, BundleMailbox } from '../../bundle/schema.ts';

/** Who a recipient is; alias, subaddress and catch-all name the address(es) it stands for. */
export type RecipientMatch =
  | { readonly kind: 'mailbox'; readonly mailbox: BundleMailbox }
  | { readonly kind: 'alias'; readonly to: readonly string[] }
  | { readonly kind: 'subaddress'; readonly base: string }
  | { readonly kind: 'catch-all'; readonly catchAll: string };

export interface Directory {
  /** Our domain for `domain` (normalised), if we receive mail for it. */
  domain(domain: string): BundleDomain | undefined;
  /** The mailbox at exactly this normalised address. */
  mailbox(address: string): BundleMailbox | undefined;
  /** Who this normalised address of one of our domains is (rules 1-4 above); null: nobody. */
  recipient(address: string): RecipientMatch | null;
  /** Addresses of aliases that deliver to `mailbox` (a user may send as its aliases). */
  aliasesOf(mailbox: string): readonly string[];
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
  return {
    domain: (d) => domains.get(d),
    mailbox: (a) => mailboxes.get(a),
    recipient(address) {
      const mailbox = mailboxes.get(address);
      if (mailbox) return { kind: 'mailbox', mailbox };
      const to = aliases.get(address);
      if (to) return { kind: 'alias', to };
      const base = withoutSubaddress(address);
      if (base !== null && exists(base)) return { kind: 'subaddress', base };
      const catchAll = domains.get(domainOf(address))?.inbound.catchAll;
      if (catchAll && catchAll !== address) return { kind: 'catch-all', catchAll };
      return null;
    },
    aliasesOf: (m) => aliasesByTarget.get(m) ?? [],
  };
}
