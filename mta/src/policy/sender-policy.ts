// Which envelope senders intake accepts at MAIL FROM, as a pure verdict.
//
//  - MX: any syntactically valid sender, and the null sender <> (bounces must get through,
//    RFC 5321 §4.5.5). Sender authentication (SPF/DKIM/DMARC) is a later stage.
//  - Submission: the authenticated user may use its own address, the aliases that deliver to
//    it, and its sendAs entries (exact addresses, or '@domain' for a whole domain). Anything
//    else, including <>, gets 553 5.7.1: a login must not forge other people's mail (RFC 6409
//    §6.1 lets the MSA refuse).
//
// This is the one rule of which addresses a login may use. The header From and Sender of a
// submission (header-sender-policy.ts) and the DKIM signing domain (dkim/sign-policy.ts) ask
// it too, through mayUseAddress and mayUseDomain (docs/trust-model.md).
import { normalizeAddress, type Address } from '../../../bundle/address.ts';
import type { Bundle } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import { directoryOf } from '../directory.ts';
import { badSenderSyntax, senderNotOwned } from './rejections.ts';

export type SenderVerdict = { readonly accept: true; readonly address: Address | null } | { readonly accept: false; readonly error: SmtpError };

/** MAIL FROM on the MX listener. `raw` "" is the null sender. */
export function checkMxSender(raw: string): SenderVerdict {
  if (raw === '') return { accept: true, address: null };
  const address = normalizeAddress(raw);
  if (!address) return { accept: false, error: badSenderSyntax(raw) };
  return { accept: true, address };
}

/** MAIL FROM on submission, for the authenticated mailbox `user` (normalised address). */
export function checkSubmissionSender(bundle: Bundle, user: string, raw: string): SenderVerdict {
  if (raw === '') return { accept: false, error: senderNotOwned(user, raw) };
  const address = normalizeAddress(raw);
  if (!address) return { accept: false, error: badSenderSyntax(raw) };
  return mayUseAddress(bundle, user, address) ? { accept: true, address } : { accept: false, error: senderNotOwned(user, address.address) };
}

/** What a login may use: exact addresses (its own, its aliases, sendAs addresses) and whole domains (sendAs '@domain'). */
interface SenderRights {
  readonly addresses: ReadonlySet<string>;
  readonly domains: ReadonlySet<string>;
}

function senderRightsOf(bundle: Bundle, user: string): SenderRights {
  const dir = directoryOf(bundle);
  const mailbox = dir.mailbox(user);
  const addresses = new Set([user]);
  const domains = new Set<string>();
  if (mailbox) {
    for (const alias of dir.aliasesOf(user)) addresses.add(alias);
    for (const entry of mailbox.sendAs) {
      const allowed = entry.toLowerCase();
      if (allowed.startsWith('@')) domains.add(allowed.slice(1));
      else {
        const a = normalizeAddress(allowed);
        if (a) addresses.add(a.address);
      }
    }
  }
  return { addresses, domains };
}

/** Whether the login `user` (normalised) may use `address` as its envelope sender, header From or Sender. */
export function mayUseAddress(bundle: Bundle, user: string, address: Address): boolean {
  const rights = senderRightsOf(bundle, user);
  return rights.addresses.has(address.address) || rights.domains.has(address.domain);
}

/**
 * Whether `domain` holds an address the login `user` may use: the domains a DKIM signature may
 * vouch for on its mail (the caller checks that the domain is one of ours with keys).
 */
export function mayUseDomain(bundle: Bundle, user: string, domain: string): boolean {
  const rights = senderRightsOf(bundle, user);
  return rights.domains.has(domain) || [...rights.addresses].some((a) => a.slice(a.lastIndexOf('@') + 1) === domain);
}
