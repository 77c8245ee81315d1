// Which recipients intake accepts at RCPT, as a pure verdict.
//
//  - MX (unauthenticated): only addresses of our domains that exist: a mailbox, an alias,
//    `local+tag@domain` when `local@domain` exists (RFC 5233 subaddress), else the domain's
//    catch-all, as the bundle's directory answers it (mta/src/directory.ts, the rule routing
//    uses too). Unknown local addresses get 550 5.1.1 at RCPT, so we never accept mail we
//    would have to bounce (backscatter, docs/reliability.md §3 scenario 36). Other domains: relay denied,
//    for everybody (Postfix allow_untrusted_routing=no).
//  - Submission (authenticated): any external recipient (that is what submission is for);
//    recipients in our own domains must exist, as on MX.
//  - SRS addresses of our domains (mta/src/srs/srs-policy.ts), asked before the directory:
//    accepted from the null sender when the hash and age verify (routing reverses them), else
//    refused as an unknown user (forged, expired) or 550 5.7.1 (not a bounce). SRS local parts
//    are often longer than 64 octets, so they are checked before the address syntax.
//  - An alias, subaddress or catch-all whose expansion loops, is deeper than 10 steps or has
//    more than 1,000 targets (directory.ts expand) is refused with 550 5.4.6.
//
//  - Postmaster (RFC 5321 §4.5.1): `<postmaster>` without a domain is accepted and goes to
//    the first domain's postmaster@; postmaster@ of a domain of ours that has no such address
//    goes there too. The verdict's address is then that one, and intake records it in the
//    envelope so delivery routes it.
//
// Addresses are compared in their normalised form (bundle/address.ts), the same form the
// operator writes into the bundle: `Alice@EXAMPLE.com.` and `alice@example.com` are equal,
// IDN domains compare in their xn-- form. `%` and `!` are ordinary local-part characters here
// (no source routing): `u%ext@local` is a local address that does not exist.
import { normalizeAddress, normalizeDomain, type Address } from '../../../bundle/address.ts';
import { isSrsLocalPart, type SrsOptions } from '../srs/srs.ts';
import { checkSrsRecipient } from '../srs/srs-policy.ts';
import type { Bundle, BundleDomain } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import { directoryOf, isBoundedWorkProblem, type ExpansionLimits, type RecipientMatch as DirectoryMatch } from '../directory.ts';
import { badRecipientSyntax, expansionRefused, relayDenied, unknownRecipient } from './rejections.ts';

/** How an accepted recipient matched: who the directory says it is, or a relay (submission). */
export type RecipientMatch = DirectoryMatch['kind'] | 'relay' | 'srs';

export type RecipientVerdict =
  | { readonly accept: true; readonly address: Address; readonly match: RecipientMatch; readonly domain: BundleDomain | null }
  | { readonly accept: false; readonly error: SmtpError };

export interface RecipientContext {
  /** Whether the client may relay to other domains (an authenticated submission user). */
  readonly mayRelay: boolean;
  /** MAIL FROM of the transaction ("" for the null sender) and the SRS keys in force; none: no SRS addresses. */
  readonly srs?: { readonly mailFrom: string; readonly options: SrsOptions } | null;
  /** Bounds of alias expansion (directory.ts defaults when absent). */
  readonly expansion?: ExpansionLimits;
}

export function checkRecipient(bundle: Bundle, raw: string, ctx: RecipientContext): RecipientVerdict {
  if (raw.toLowerCase() === 'postmaster') return postmasterOf(bundle, null, raw);
  const at = raw.lastIndexOf('@');
  const srsDomain = at > 0 && isSrsLocalPart(raw.slice(0, at)) ? directoryOf(bundle).domain(normalizeDomain(raw.slice(at + 1)) ?? '') : undefined;
  if (srsDomain) {
    const srs = checkSrsRecipient(raw.slice(0, at), ctx.srs?.mailFrom ?? '', ctx.srs?.options ?? { keys: [] });
    if (srs.kind === 'refuse') return { accept: false, error: srs.error };
    if (srs.kind === 'reverse')
      return { accept: true, address: { address: raw, local: raw.slice(0, at), domain: srsDomain.domain }, match: 'srs', domain: srsDomain };
  }
  const address = normalizeAddress(raw);
  if (!address) return { accept: false, error: badRecipientSyntax(raw) };
  const dir = directoryOf(bundle);
  const domain = dir.domain(address.domain);
  if (!domain) {
    if (ctx.mayRelay) return { accept: true, address, match: 'relay', domain: null };
    return { accept: false, error: relayDenied(address.address, `${address.domain} is not a local domain and the client is not authenticated`) };
  }
  const match = dir.recipient(address.address);
  if (!match)
    return address.local === 'postmaster' ? postmasterOf(bundle, domain, address.address) : { accept: false, error: unknownRecipient(address.address) };
  if (match.kind !== 'mailbox') {
    // Bounded work (docs/reliability.md "Limits"): an alias whose expansion loops or fans out
    // over the cap is refused here, so no such message is ever queued.
    const expansion = dir.expand(address.address, ctx.expansion);
    if (!expansion.ok && isBoundedWorkProblem(expansion.problem))
      return { accept: false, error: expansionRefused(address.address, expansion.problem, expansion.detail) };
  }
  return { accept: true, address, match: match.kind, domain };
}

// The postmaster for `<postmaster>` (domain null) or for a domain without one: the first domain's.
function postmasterOf(bundle: Bundle, domain: BundleDomain | null, raw: string): RecipientVerdict {
  const dir = directoryOf(bundle);
  const first = bundle.domains[0];
  if (domain) {
    const own = `postmaster@${domain.domain}`;
    const match = dir.recipient(own);
    if (match) return { accept: true, address: { address: own, local: 'postmaster', domain: domain.domain }, match: match.kind, domain };
  }
  const fallback = first ? `postmaster@${first.domain}` : '';
  const match = first ? dir.recipient(fallback) : null;
  if (!first || !match) return { accept: false, error: unknownRecipient(raw) };
  return { accept: true, address: { address: fallback, local: 'postmaster', domain: first.domain }, match: match.kind, domain: first };
}
