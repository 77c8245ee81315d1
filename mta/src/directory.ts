// The address book of one bundle, indexed for the questions intake asks at RCPT and MAIL:
// is this domain ours, does this address exist (mailbox, alias, +tag subaddress, catch-all),
// which addresses may this login send as. Built once per bundle object (the bundle is
// immutable once loaded; a reload brings a new object), so lookups are map hits.
import type { Bundle, BundleDomain, BundleMailbox } from './config/bundle-schema.ts';

export interface Directory {
  /** Our domain for `domain` (normalised), if we receive mail for it. */
  domain(domain: string): BundleDomain | undefined;
  /** The mailbox at exactly this normalised address. */
  mailbox(address: string): BundleMailbox | undefined;
  /** Whether an alias with exactly this normalised address exists. */
  isAlias(address: string): boolean;
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
  const aliases = new Set(bundle.aliases.map((a) => a.address));
  const aliasesByTarget = new Map<string, string[]>();
  for (const alias of bundle.aliases) {
    for (const target of alias.to) {
      const list = aliasesByTarget.get(target) ?? [];
      list.push(alias.address);
      aliasesByTarget.set(target, list);
    }
  }
  return {
    domain: (d) => domains.get(d),
    mailbox: (a) => mailboxes.get(a),
    isAlias: (a) => aliases.has(a),
    aliasesOf: (m) => aliasesByTarget.get(m) ?? [],
  };
}
