// What the MX does with the verdicts of a message, before its final reply to DATA. Pure:
// verdicts and the recipient domains' settings in, an action out (maddy's "verdict, then an
// action"; the checks themselves are in verify-message.ts).
//
// # Rules, in order
//
// 1. Our own domains. Mail from the Internet whose MAIL FROM or From header is in one of our
//    domains must be authenticated for that domain: SPF pass for it, a passing DKIM signature
//    with d= that domain, or DMARC pass. Otherwise anyone could send "as" our users to our
//    users, and an alias or a forward would carry the forgery on under our name. Refused with
//    550 5.7.1 whatever `inbound.dmarc` says (it is our own name at stake, not the sender's).
// 2. DMARC (RFC 7489 §6.6, RFC 9989), per the recipient domains' `inbound.dmarc`:
//      enforce: a DMARC fail under p=reject is refused with 550 5.7.1; under p=quarantine the
//               message is accepted with the quarantine header field (quarantineField), which
//               a mailbox server files on (a Sieve rule in the docs);
//      report:  nothing is refused or marked; the verdict is recorded in Authentication-Results.
//    Several recipient domains: the strictest applies (enforce if any enforces), as the size
//    limit does: one reply ends DATA for every recipient.
// 3. DNS failures are never a permanent refusal. A verdict that would refuse the message is
//    turned into 451 4.7.0 (try again later) when a check it rests on was temperror:
//      - rule 1 refuses and SPF, a DKIM signature or DMARC was temperror;
//      - rule 2 refuses (fail, p=reject) and SPF or a DKIM signature was temperror (it might
//        have passed and aligned);
//      - DMARC itself was temperror (the record could not be fetched), the domain enforces,
//        and neither SPF nor any DKIM signature passed: whatever the record says, DMARC would
//        fail, and only the unknown policy decides; a retry will know it.
//    Otherwise a temperror is only recorded.
// ARC results are recorded, not acted on: overriding DMARC for a forwarder needs a list of
// sealers we trust (RFC 8617 §7.2), which we do not keep yet.
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';
import type { AuthVerdicts } from './verify-message.ts';

export type DmarcMode = 'enforce' | 'report';

export interface VerdictContext {
  /** `inbound.dmarc` of each recipient domain of the message (ours; relayed recipients have none). */
  readonly modes: readonly DmarcMode[];
  /** Whether a (normalised) domain is one of ours. */
  readonly isOurDomain: (domain: string) => boolean;
  /** MAIL FROM's domain, normalised; null for the null sender. */
  readonly mailFromDomain: string | null;
}

export type VerdictAction =
  { readonly kind: 'accept'; readonly quarantine: boolean; readonly note: string | null } | { readonly kind: 'refuse'; readonly error: SmtpError };

/** Added to a message that failed DMARC under p=quarantine at an enforcing domain. */
export const quarantineField = 'X-Stafette-Quarantine';

export function decideVerdict(v: AuthVerdicts, ctx: VerdictContext): VerdictAction {
  const temp = temperrors(v);
  const fromDomain = v.dmarc?.fromDomain ?? null;

  for (const claimed of new Set([ctx.mailFromDomain, fromDomain])) {
    if (claimed === null || !ctx.isOurDomain(claimed)) continue;
    if (authenticatedFor(v, claimed)) continue;
    if (temp.spf || temp.dkim || temp.dmarc) return refuse(tempAuthFailure(claimed, 'ownDomain', temp));
    return refuse(ownDomainForged(claimed, v));
  }

  const enforce = ctx.modes.includes('enforce');
  const dmarc = v.dmarc;
  if (!dmarc || !enforce) return accept(false, dmarc?.result === 'temperror' ? 'dmarc temperror recorded' : null);

  if (dmarc.result === 'fail' && dmarc.policy === 'reject') {
    if (temp.spf || temp.dkim) return refuse(tempAuthFailure(dmarc.fromDomain, 'dmarcReject', temp));
    return refuse(dmarcRejected(dmarc.fromDomain));
  }
  if (dmarc.result === 'fail' && dmarc.policy === 'quarantine') return accept(true, `dmarc fail, p=quarantine for ${dmarc.fromDomain}`);
  if (dmarc.result === 'temperror' && v.spf.result !== 'pass' && v.dkim.result !== 'pass') {
    return refuse(tempAuthFailure(dmarc.fromDomain, 'dmarcUnknown', temp));
  }
  return accept(false, dmarc.result === 'temperror' ? 'dmarc temperror recorded' : null);
}

/** The quarantine header field line, ending with CRLF. */
export function renderQuarantineField(fromDomain: string): string {
  return `${quarantineField}: dmarc (p=quarantine; header.from=${fromDomain.replace(/[^A-Za-z0-9.-]/g, '?')})\r\n`;
}

/** SPF pass for the domain, a passing DKIM signature by it, or DMARC pass for it. */
export function authenticatedFor(v: AuthVerdicts, domain: string): boolean {
  if (v.spf.result === 'pass' && v.spf.domain === domain) return true;
  if (v.dkim.signatures.some((s) => s.result === 'pass' && s.domain === domain)) return true;
  return v.dmarc?.result === 'pass' && v.dmarc.fromDomain === domain;
}

function temperrors(v: AuthVerdicts) {
  return {
    spf: v.spf.result === 'temperror',
    dkim: v.dkim.signatures.some((s) => s.result === 'temperror'),
    dmarc: v.dmarc?.result === 'temperror',
  };
}

function accept(quarantine: boolean, note: string | null): VerdictAction {
  return { kind: 'accept', quarantine, note };
}

function refuse(error: SmtpError): VerdictAction {
  return { kind: 'refuse', error };
}

/** Mail claiming one of our domains that is not authenticated for it. */
function ownDomainForged(domain: string, v: AuthVerdicts): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.NotAuthorized1,
    rule: 'own_domain_unauthenticated',
    clientMessage: `Message claims to be from ${domain} but is not authenticated for it`,
    reason: `sender domain ${domain} is ours; spf=${v.spf.result} (${v.spf.domain}), dkim=${v.dkim.signatures.map((s) => `${s.result}:${s.domain}`).join(',') || 'none'}, dmarc=${v.dmarc?.result ?? 'n/a'}`,
  });
}

/** DMARC fail under p=reject at an enforcing domain (RFC 7489 §6.6.3). */
function dmarcRejected(fromDomain: string): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.NotAuthorized1,
    rule: 'dmarc_reject',
    clientMessage: `Message rejected: DMARC policy of ${fromDomain} says reject`,
    reason: `DMARC fail for ${fromDomain} under p=reject, and a recipient domain enforces DMARC`,
  });
}

/** A refusal that rests on a DNS failure: the sender tries again later (RFC 7208 §2.6.6, RFC 7489 §6.6.3). */
function tempAuthFailure(domain: string, why: 'ownDomain' | 'dmarcReject' | 'dmarcUnknown', temp: ReturnType<typeof temperrors>): SmtpError {
  const failed =
    Object.entries(temp)
      .filter(([, t]) => t)
      .map(([m]) => m)
      .join(', ') || 'dmarc';
  return new SmtpError({
    code: C.C451LocalError,
    subject: SE.Security0,
    rule: 'auth_temperror',
    clientMessage: 'Temporary DNS failure while authenticating the message, try again later',
    reason: `${why === 'ownDomain' ? `our domain ${domain} not authenticated` : why === 'dmarcReject' ? `DMARC fail, p=reject for ${domain}` : `DMARC record of ${domain} unknown and nothing passed`}; temperror in ${failed}`,
  });
}
