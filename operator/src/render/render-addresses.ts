// Mailboxes, aliases and catch-alls → the bundle's address tables.
//
// Claims are made in a fixed order so conflicts resolve predictably: every Mailbox's
// own address first (oldest Mailbox first), then Mailbox aliases, then the aliases of
// MailDomains. An address claimed twice stays with its first claimant; the other is
// reported. Addresses may only be claimed in domains of the claimant's namespace, so
// one tenant cannot take mail meant for another's domain.
import { issueReasons, secretUseLabel, secretUses, type Mailbox, type MailboxSpecResolved } from '../../../crds/src/index.ts';
import { applyDefaults, type SchemaNode } from '../../../crds/src/crd-schemas.ts';
import { domainOf, normalizeAddress, withoutSubaddress } from '../../../bundle/address.ts';
import { looksLikeHash, passwordHashProblem } from '../../../bundle/password-hash.ts';
import {
  defaultDeliveryTargetPolicy,
  lmtpHostProblem,
  maildirPathProblem,
  webhookUrlProblem,
  type DeliveryTargetPolicy,
} from '../../../bundle/delivery-targets.ts';
import { aliasExpansionLimits, type BundleAlias, type BundleMailbox, type DeliveryTarget } from '../../../bundle/schema.ts';
import { byAge, refOf, type RenderContext } from './context.ts';
import { secretValue, secretVersion, type RenderInput } from './input.ts';
import type { ResourceRef } from './issues.ts';
import type { AcceptedDomain } from './render-domains.ts';

export interface AddressTables {
  mailboxes: BundleMailbox[];
  aliases: BundleAlias[];
  catchAll: Map<string, string>;
  passwords: Record<string, string>;
  webhookKeys: Record<string, string>;
}

interface Claim {
  ref: ResourceRef;
}

export function renderAddresses(
  ctx: RenderContext,
  domains: Map<string, AcceptedDomain>,
  mailboxes: Mailbox[],
  mailboxSchema: SchemaNode,
  hashPassword: RenderInput['hashPassword'],
  defaultDelivery: DeliveryTarget | null = { type: 'local' },
  targets: DeliveryTargetPolicy = defaultDeliveryTargetPolicy,
): AddressTables {
  const claims = new Map<string, Claim>();
  const out: AddressTables = { mailboxes: [], aliases: [], catchAll: new Map(), passwords: {}, webhookKeys: {} };

  /** Normalises an address and checks its domain is one of `namespace`'s; reports and returns null if not. */
  const ownAddress = (ref: ResourceRef, field: string, raw: string): string | null => {
    const parsed = normalizeAddress(raw);
    if (!parsed) {
      ctx.error(ref, field, issueReasons.invalidAddress, `${raw} is not an address local-part@domain`);
      return null;
    }
    const domain = domains.get(parsed.domain);
    const heldOut = ctx.heldOutDomains.get(parsed.domain);
    if (!domain && heldOut) {
      ctx.error(ref, field, issueReasons.domainNotFound, `MailDomain ${heldOut} of ${parsed.domain} is left out of the MTA configuration (see its status)`);
      return null;
    }
    if (!domain) {
      ctx.error(ref, field, issueReasons.domainNotFound, `no MailDomain serves ${parsed.domain}; create one in namespace ${ref.namespace}`);
      return null;
    }
    if (domain.namespace !== ref.namespace) {
      ctx.error(
        ref,
        field,
        issueReasons.domainNotFound,
        `${parsed.domain} is served by MailDomain ${domain.namespace}/${domain.resource.metadata.name}; addresses must be declared in the same namespace`,
      );
      return null;
    }
    return parsed.address;
  };

  const claim = (ref: ResourceRef, field: string, address: string): boolean => {
    const owner = claims.get(address);
    if (owner) {
      ctx.error(ref, field, issueReasons.addressConflict, `${address} is already claimed by ${owner.ref.kind} ${owner.ref.namespace}/${owner.ref.name}`);
      return false;
    }
    claims.set(address, { ref });
    return true;
  };

  // 1. Mailbox addresses.
  const accepted: { resource: Mailbox; ref: ResourceRef; spec: MailboxSpecResolved; address: string }[] = [];
  for (const resource of [...mailboxes].sort(byAge)) {
    const ref = refOf('Mailbox', resource.metadata);
    const spec = applyDefaults(mailboxSchema, resource.spec) as MailboxSpecResolved;
    const address = ownAddress(ref, 'spec.address', spec.address);
    if (!address || !claim(ref, 'spec.address', address)) continue;
    accepted.push({ resource, ref, spec, address });
  }

  // 2. Mailbox aliases.
  const aliasTargets = new Map<string, { to: string[]; ref: ResourceRef; field: string }>();
  for (const m of accepted) {
    (m.spec.aliases ?? []).forEach((raw, i) => {
      const field = `spec.aliases[${i}]`;
      const address = ownAddress(m.ref, field, raw);
      if (address && claim(m.ref, field, address)) aliasTargets.set(address, { to: [m.address], ref: m.ref, field });
    });
  }

  // 3. MailDomain aliases.
  for (const d of [...domains.values()].sort((a, b) => byAge(a.resource, b.resource))) {
    const ref = refOf('MailDomain', d.resource.metadata);
    (d.spec.inbound.aliases ?? []).forEach((alias, i) => {
      const field = `spec.inbound.aliases[${i}]`;
      const address = ownAddress(ref, `${field}.name`, `${alias.name}@${d.spec.domain}`);
      if (!address || !claim(ref, `${field}.name`, address)) return;
      const to = alias.to.map((t) => normalizeAddress(t)?.address ?? t);
      aliasTargets.set(address, { to, ref, field: `${field}.to` });
    });
  }

  // Targets in a domain we serve must exist; targets elsewhere are forwarded.
  const exists = (address: string) => claims.has(address) || claims.has(withoutSubaddress(address) ?? address);
  const local = (address: string) => domains.has(domainOf(address));
  const dangling = (targets: string[]) => targets.filter((t) => local(t) && !exists(t));

  const looping = findAliasLoops(aliasTargets);
  const overBudget = findAliasFanOut(aliasTargets, looping);
  for (const [address, alias] of [...aliasTargets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const missing = dangling(alias.to);
    if (missing.length > 0) {
      ctx.error(alias.ref, alias.field, issueReasons.aliasTargetNotFound, `alias ${address} points to ${missing.join(', ')}, which no Mailbox or alias claims`);
      continue;
    }
    if (looping.has(address)) {
      ctx.error(alias.ref, alias.field, issueReasons.aliasLoop, `alias ${address} leads back to itself`);
      continue;
    }
    const fanOut = overBudget.get(address);
    if (fanOut) {
      ctx.error(alias.ref, alias.field, issueReasons.aliasFanOut, `alias ${address} ${fanOut}`);
      continue;
    }
    out.aliases.push({ address, to: alias.to, source: { namespace: alias.ref.namespace, name: alias.ref.name } });
  }

  for (const d of domains.values()) {
    const raw = d.spec.inbound.catchAll;
    if (!raw) continue;
    const target = normalizeAddress(raw)?.address ?? raw;
    if (local(target) && !exists(target)) {
      ctx.error(
        refOf('MailDomain', d.resource.metadata),
        'spec.inbound.catchAll',
        issueReasons.catchAllTargetNotFound,
        `catch-all ${target} is not claimed by any Mailbox or alias`,
      );
      continue;
    }
    out.catchAll.set(d.spec.domain, target);
  }

  for (const m of accepted) {
    const delivery = deliveryOf(ctx, m.ref, m.spec, dangling, defaultDelivery, targets);
    if (!delivery) continue;
    if (delivery.webhookKey) out.webhookKeys[m.address] = delivery.webhookKey;
    const login = passwordHash(ctx, m.ref, m.spec, m.address, hashPassword);
    if (login) out.passwords[m.address] = login;
    out.mailboxes.push({
      address: m.address,
      source: { namespace: m.ref.namespace, name: m.ref.name },
      login: login !== null,
      sendAs: sendAsOf(ctx, m.ref, m.spec, domains),
      delivery: delivery.target,
    });
  }
  out.mailboxes.sort((a, b) => (a.address < b.address ? -1 : 1));
  dropUnreachable(ctx, out, aliasTargets, domains, local);
  return out;
}

/**
 * A Mailbox left out above (its delivery could not be used) takes its address out of the
 * bundle; the aliases and catch-alls that lead to it go too, reported on their owners,
 * because the MTA refuses a bundle that names an address it does not have (bundle-check).
 */
function dropUnreachable(
  ctx: RenderContext,
  out: AddressTables,
  aliasTargets: Map<string, { ref: ResourceRef; field: string }>,
  domains: Map<string, AcceptedDomain>,
  local: (address: string) => boolean,
): void {
  const present = new Set([...out.mailboxes.map((m) => m.address), ...out.aliases.map((a) => a.address)]);
  // The same rule as for claims above: local+tag@ reaches local@.
  const reachable = (t: string) => present.has(t) || present.has(withoutSubaddress(t) ?? t);
  for (let changed = true; changed;) {
    changed = false;
    out.aliases = out.aliases.filter((alias) => {
      const missing = alias.to.filter((t) => local(t) && !reachable(t));
      if (missing.length === 0) return true;
      const owner = aliasTargets.get(alias.address);
      if (owner) {
        ctx.error(
          owner.ref,
          owner.field,
          issueReasons.aliasTargetNotFound,
          `alias ${alias.address} points to ${missing.join(', ')}, which is not in the MTA configuration (see that address's own status)`,
        );
      }
      present.delete(alias.address);
      changed = true;
      return false;
    });
  }
  for (const [domain, target] of out.catchAll) {
    if (!local(target) || reachable(target)) continue;
    const owner = domains.get(domain);
    if (owner) {
      ctx.error(
        refOf('MailDomain', owner.resource.metadata),
        'spec.inbound.catchAll',
        issueReasons.catchAllTargetNotFound,
        `catch-all ${target} is not in the MTA configuration (see that address's own status)`,
      );
    }
    out.catchAll.delete(domain);
  }
}

/** Aliases that reach themselves through other aliases. */
/**
 * Aliases whose expansion is over aliasExpansionLimits (bundle/schema.ts: more distinct
 * targets than maxTargets, or more steps than maxDepth), with why; memoised, so a lattice of
 * aliases costs one pass over its edges. Looping aliases are reported as loops instead.
 */
export function findAliasFanOut(aliases: Map<string, { to: string[] }>, looping: ReadonlySet<string>): Map<string, string> {
  const { maxTargets, maxDepth } = aliasExpansionLimits;
  const memo = new Map<string, { targets: Set<string>; height: number } | string>();
  const expand = (address: string): { targets: Set<string>; height: number } | string => {
    const alias = aliases.get(address);
    if (!alias) return { targets: new Set([address]), height: 0 };
    const known = memo.get(address);
    if (known !== undefined) return known;
    memo.set(address, 'leads back to itself'); // a cycle met while expanding it
    let result: { targets: Set<string>; height: number } | string = { targets: new Set<string>(), height: 0 };
    for (const to of alias.to) {
      const sub = expand(to);
      if (typeof sub === 'string') {
        result = sub;
        break;
      }
      for (const t of sub.targets) result.targets.add(t);
      result.height = Math.max(result.height, sub.height + 1);
      if (result.targets.size > maxTargets) {
        result = `expands to more than ${maxTargets} addresses`;
        break;
      }
      if (result.height > maxDepth) {
        result = `is more than ${maxDepth} alias steps deep`;
        break;
      }
    }
    memo.set(address, result);
    return result;
  };
  const over = new Map<string, string>();
  for (const address of aliases.keys()) {
    if (looping.has(address)) continue;
    const result = expand(address);
    if (typeof result === 'string') over.set(address, result);
  }
  return over;
}

function findAliasLoops(aliases: Map<string, { to: string[] }>): Set<string> {
  const looping = new Set<string>();
  for (const start of aliases.keys()) {
    const seen = new Set<string>();
    const stack = [...(aliases.get(start)?.to ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (next === start) {
        looping.add(start);
        break;
      }
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(aliases.get(next)?.to ?? []));
    }
  }
  return looping;
}

function deliveryOf(
  ctx: RenderContext,
  ref: ResourceRef,
  spec: MailboxSpecResolved,
  dangling: (targets: string[]) => string[],
  defaultDelivery: DeliveryTarget | null,
  targets: DeliveryTargetPolicy,
): { target: DeliveryTarget; webhookKey?: string } | null {
  const d = spec.delivery;
  // Only targets inside the platform's allow-lists (docs/trust-model.md); the MTA checks again.
  const problem = d?.lmtp
    ? [
        d.lmtp.host === (defaultDelivery?.type === 'lmtp' ? defaultDelivery.host : null) ? null : lmtpHostProblem(d.lmtp.host, targets),
        'spec.delivery.lmtp.host',
      ]
    : d?.maildir
      ? [maildirPathProblem(d.maildir.path, targets), 'spec.delivery.maildir.path']
      : d?.webhook
        ? [webhookUrlProblem(d.webhook.url, targets), 'spec.delivery.webhook.url']
        : [null, ''];
  if (problem[0]) {
    ctx.error(ref, problem[1] as string, issueReasons.deliveryTargetNotAllowed, `${problem[0]}; mail for this address is refused until the target is allowed`);
    return null;
  }
  if (!d || !(d.lmtp || d.maildir || d.forward || d.webhook)) {
    if (defaultDelivery) return { target: defaultDelivery };
    // Without a target the mail would wait in the queue for its whole lifetime; refusing
    // it at RCPT and saying so here is the honest answer.
    ctx.error(
      ref,
      'spec.delivery',
      issueReasons.noDeliveryTarget,
      'no delivery is set and this installation has no default delivery (Helm value defaultDelivery, operator flag --default-delivery); mail for this address is refused until one of them is set',
    );
    return null;
  }
  if (d.lmtp) return { target: { type: 'lmtp', host: d.lmtp.host, port: d.lmtp.port } };
  if (d.maildir) return { target: { type: 'maildir', path: d.maildir.path } };
  if (d.forward) {
    const to = d.forward.to.map((t) => normalizeAddress(t)?.address ?? t);
    const missing = dangling(to);
    if (missing.length > 0) {
      ctx.error(
        ref,
        'spec.delivery.forward.to',
        issueReasons.forwardTargetNotFound,
        `forward target ${missing.join(', ')} is not claimed by any Mailbox or alias`,
      );
      return null;
    }
    return { target: { type: 'forward', to, keepCopy: d.forward.keepCopy } };
  }
  if (d.webhook) {
    const secret = ctx.usableSecret(ref, 'spec.delivery.webhook.secretRef.name', d.webhook.secretRef.name, secretUses.webhook);
    if (secret === null) return null;
    const key = secretValue(secret, d.webhook.secretRef.key);
    if (!key) {
      ctx.error(
        ref,
        'spec.delivery.webhook.secretRef',
        issueReasons.webhookSecretNotFound,
        `Secret ${d.webhook.secretRef.name} with key ${d.webhook.secretRef.key} not found among the Secrets labelled ${secretUseLabel}=${secretUses.webhook}; mail for this address is refused until it exists`,
      );
      return null;
    }
    return { target: { type: 'webhook', url: d.webhook.url }, webhookKey: key };
  }
  return null;
}

function passwordHash(
  ctx: RenderContext,
  ref: ResourceRef,
  spec: MailboxSpecResolved,
  address: string,
  hashPassword: RenderInput['hashPassword'],
): string | null {
  const secretRef = spec.passwordSecretRef;
  if (!secretRef) return null;
  const secret = ctx.usableSecret(ref, 'spec.passwordSecretRef.name', secretRef.name, secretUses.password);
  if (secret === null) return null;
  if (!secret) {
    ctx.error(
      ref,
      'spec.passwordSecretRef',
      issueReasons.passwordSecretNotFound,
      `Secret ${secretRef.name} not found among the Secrets labelled ${secretUseLabel}=${secretUses.password}; the mailbox receives mail but cannot log in`,
    );
    return null;
  }
  const value = secretValue(secret, secretRef.key);
  if (!value) {
    ctx.error(
      ref,
      'spec.passwordSecretRef.key',
      issueReasons.passwordKeyNotFound,
      `Secret ${secretRef.name} has no key ${secretRef.key}; the mailbox receives mail but cannot log in`,
    );
    return null;
  }
  if (!looksLikeHash(value)) return hashPassword(address, value, secretVersion(secret));
  // A value that is already a hash is stored as it is, so a password never has to exist in plain
  // text; but only scrypt of the platform's one cost, which every AUTH attempt pays (docs/trust-model.md).
  const problem = passwordHashProblem(value);
  if (problem) {
    ctx.error(
      ref,
      'spec.passwordSecretRef.key',
      issueReasons.passwordHashNotAccepted,
      `the pre-hashed password in Secret ${secretRef.name} key ${secretRef.key} is refused: ${problem}; the mailbox receives mail but cannot log in`,
    );
    return null;
  }
  return value;
}

function sendAsOf(ctx: RenderContext, ref: ResourceRef, spec: MailboxSpecResolved, domains: Map<string, AcceptedDomain>): string[] {
  const out: string[] = [];
  (spec.sendAs ?? []).forEach((raw, i) => {
    const wholeDomain = raw.startsWith('@');
    const normalized = wholeDomain ? normalizeAddress(`x${raw}`) : normalizeAddress(raw);
    const owner = normalized ? domains.get(normalized.domain) : undefined;
    if (!normalized || !owner || owner.namespace !== ref.namespace) {
      ctx.error(ref, `spec.sendAs[${i}]`, issueReasons.senderDomainNotOwned, `${raw} is not in a domain served by a MailDomain in namespace ${ref.namespace}`);
      return;
    }
    out.push(wholeDomain ? `@${normalized.domain}` : normalized.address);
  });
  return [...new Set(out)].sort();
}
