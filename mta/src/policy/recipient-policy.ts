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
//
// Addresses are compared in their normalised form (bundle/address.ts), the same form the
// operator writes into the bundle: `Alice@EXAMPLE.com.` and `alice@example.com` are equal,
// IDN domains compare in their xn-- form. `%` and `!` are ordinary local-part characters here
// (no source routing): `u%ext@local` is a local address that does not exist.
import { normalizeAddress, type Address } from '../../../bundle/address.ts';
import type { Bundle, BundleDomain } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import { directoryOf, type RecipientMatch as DirectoryMatch } from '../directory.ts';
import { badRecipientSyntax, relayDenied, unknownRecipient } from './rejections.ts';

/** How an accepted recipient matched: who the directory says it is, or a relay (submission). */
export type RecipientMatch = DirectoryMatch['kind'] | 'relay';

export type RecipientVerdict =
  | { readonly accept: true; readonly address: Address; readonly match: RecipientMatch; readonly domain: BundleDomain | null }
  | { readonly accept: false; readonly error: SmtpError };

export interface RecipientContext {
  /** Whether the client may relay to other domains (an authenticated submission user). */
  readonly mayRelay: boolean;
}

export function checkRecipient(bundle: Bundle, raw: string, ctx: RecipientContext): RecipientVerdict {
  const address = normalizeAddress(raw);
  if (!address) return { accept: false, error: badRecipientSyntax(raw) };
  const dir = directoryOf(bundle);
  const domain = dir.domain(address.domain);
  if (!domain) {
    if (ctx.mayRelay) return { accept: true, address, match: 'relay', domain: null };
    return { accept: false, error: relayDenied(address.address, `${address.domain} is not a local domain and the client is not authenticated`) };
  }
  const match = dir.recipient(address.address);
  if (!match) return { accept: false, error: unknownRecipient(address.address) };
  return { accept: true, address, match: match.kind, domain };
}
