// Which envelope senders intake accepts at MAIL FROM, as a pure verdict.
//
//  - MX: any syntactically valid sender, and the null sender <> (bounces must get through,
//    RFC 5321 §4.5.5). Sender authentication (SPF/DKIM/DMARC) is a later stage.
//  - Submission: the authenticated user may use its own address, the aliases that deliver to
//    it, and its sendAs entries (exact addresses, or '@domain' for a whole domain). Anything
//    else, including <>, gets 553 5.7.1: a login must not forge other people's mail (RFC 6409
//    §6.1 lets the MSA refuse).
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
  return mayUseSender(bundle, user, address) ? { accept: true, address } : { accept: false, error: senderNotOwned(user, address.address) };
}

function mayUseSender(bundle: Bundle, user: string, sender: Address): boolean {
  if (sender.address === user) return true;
  const dir = directoryOf(bundle);
  const mailbox = dir.mailbox(user);
  if (!mailbox) return false;
  if (dir.aliasesOf(user).includes(sender.address)) return true;
  return mailbox.sendAs.some((entry) => {
    const allowed = entry.toLowerCase();
    return allowed.startsWith('@') ? allowed.slice(1) === sender.domain : normalizeAddress(allowed)?.address === sender.address;
  });
}
