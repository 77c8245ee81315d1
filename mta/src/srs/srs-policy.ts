// Where SRS applies (srs.ts is the codec):
//
//  - Forwarding. A message we send on to another domain keeps its original envelope sender
//    unless that sender is in one of our domains; a foreign sender is rewritten to an SRS
//    address of the forwarding domain (the domain of our address that forwarded it), so the
//    next hop's SPF check sees our domain, which our IPs may send for. The null sender stays.
//  - Bounces. RCPT TO an SRS address of one of our domains: a valid one (hash and age check
//    out with one of our keys) is delivered to the original sender, and only for the null
//    sender (bounces and auto-replies, RFC 3834): an SRS address is not a way to send mail to
//    anyone through us. A forged or expired one is an unknown user (550 5.1.1), a valid one
//    used by a non-null sender is refused with 550 5.7.1.
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';
import { isSrsLocalPart, srsForward, srsReverse, type SrsOptions } from './srs.ts';

/** The envelope sender to forward with: rewritten when it is foreign, else as it is. */
export function forwardingSender(sender: string, forwarderDomain: string, isOurDomain: (domain: string) => boolean, options: SrsOptions): string {
  if (sender === '' || options.keys.length === 0) return sender;
  const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
  return isOurDomain(domain) ? sender : srsForward(sender, forwarderDomain, options);
}

export type SrsRecipientVerdict =
  { readonly kind: 'not-srs' } | { readonly kind: 'reverse'; readonly original: string } | { readonly kind: 'refuse'; readonly error: SmtpError };

/** RCPT of a local part at one of our domains, given MAIL FROM ("" for the null sender). */
export function checkSrsRecipient(local: string, mailFrom: string, options: SrsOptions): SrsRecipientVerdict {
  if (!isSrsLocalPart(local)) return { kind: 'not-srs' };
  const reversed = options.keys.length > 0 ? srsReverse(local, options) : { ok: false as const, reason: 'bad-hash' as const };
  if (!reversed.ok) {
    return {
      kind: 'refuse',
      error: new SmtpError({
        code: C.C550MailboxUnavailable,
        subject: SE.BadDestMailbox1,
        rule: 'srs_invalid',
        clientMessage: 'Recipient address rejected: no such user here',
        reason: `SRS address ${local} refused: ${reversed.reason}`,
      }),
    };
  }
  if (mailFrom !== '') {
    return {
      kind: 'refuse',
      error: new SmtpError({
        code: C.C550MailboxUnavailable,
        subject: SE.NotAuthorized1,
        rule: 'srs_not_bounce',
        clientMessage: 'This address accepts only delivery status notifications',
        reason: `SRS address used by ${JSON.stringify(mailFrom)}, not the null sender`,
      }),
    };
  }
  return { kind: 'reverse', original: reversed.address };
}
