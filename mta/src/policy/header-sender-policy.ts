// The header From and Sender of a submitted message, checked against the login at the end of
// DATA (docs/trust-model.md §2.1): every address in every From and Sender field must be one the
// login may use, by the same rule as its envelope sender (sender-policy.ts mayUseAddress: its
// own address, its aliases, its sendAs), else 550 5.7.1. The CRD's sendAs governs "envelope
// sender and From"; RFC 6409 §8 lets an MSA check them. Without this a login could put any of
// our domains in From and have it DKIM-signed and DMARC-aligned.
//
// A field with no address we can read is refused too (what a receiver makes of it is not
// ours to guess). A message without From passes: the DKIM domain is then the envelope
// sender's, which the MAIL FROM check already allowed.
import addressparser from 'nodemailer/lib/addressparser';
import { normalizeAddress } from '../../../bundle/address.ts';
import type { Bundle } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import { headerSenderNotOwned } from './rejections.ts';
import { mayUseAddress } from './sender-policy.ts';

/** The checked fields, as they are named in the reply. */
const checkedFields: Readonly<Record<string, string>> = { from: 'From', sender: 'Sender' };

/** The header section of a message given as chunks (CRLF line ends), without the blank line. */
export function headerSection(chunks: readonly Buffer[]): string {
  const parts: Buffer[] = [];
  let seen = 0;
  for (const chunk of chunks) {
    parts.push(chunk);
    seen += chunk.length;
    const joined = Buffer.concat(parts, seen);
    if (joined.subarray(0, 2).equals(Buffer.from('\r\n'))) return '';
    const end = joined.indexOf('\r\n\r\n');
    if (end >= 0) return joined.subarray(0, end).toString('utf8');
  }
  return Buffer.concat(parts, seen).toString('utf8');
}

/** The values of the From and Sender fields, unfolded, with their reply names. */
export function senderFields(header: string): { field: string; value: string }[] {
  const unfolded = header.replace(/\r?\n[ \t]/g, ' ');
  const out: { field: string; value: string }[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^([A-Za-z-]+)[ \t]*:(.*)$/s.exec(line);
    const field = m ? checkedFields[m[1]!.toLowerCase()] : undefined;
    if (m && field) out.push({ field, value: m[2]! });
  }
  return out;
}

/** The verdict for a submitted message's header section: null to accept, else the refusal. */
export function checkHeaderSenders(bundle: Bundle, user: string, header: string): SmtpError | null {
  for (const { field, value } of senderFields(header)) {
    const addresses = addressparser(value, { flatten: true });
    if (addresses.length === 0) return headerSenderNotOwned(user, field, value.trim());
    for (const parsed of addresses) {
      const address = normalizeAddress(parsed.address);
      if (!address || !mayUseAddress(bundle, user, address)) return headerSenderNotOwned(user, field, parsed.address || value.trim());
    }
  }
  return null;
}
