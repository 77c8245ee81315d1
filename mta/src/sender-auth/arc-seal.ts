// ARC sealing (RFC 8617) of a copy we forward: the next hop's DMARC check fails on forwarded
// mail whenever the forward breaks SPF (it always does) and DKIM (a list footer, our own
// headers), unless it can see what we found when the message reached us, vouched for by a
// seal of ours. The seal is made with the forwarding domain's DKIM key (signing domain =
// that domain, one of our DKIM selectors), by mailauth's createSeal.
//
// What the seal says comes from our own Authentication-Results field on the stored message
// (the one with our authserv-id; incoming ones claiming it were removed at intake), so it
// records the checks as they were at intake, not a second run at forward time:
//   ARC-Authentication-Results: i=N; <our Authentication-Results value>
//   cv: none when our field says arc=none (no chain arrived), pass for arc=pass, else fail
//       (a chain that arrived broken stays marked broken: RFC 8617 §5.1.1).
// A message without our field (it did not come in over MX) is sealed as cv=none/pass per its
// chain, with the authentication results "none".
import { createSeal } from 'mailauth/lib/arc/index.js';
import { authResultsField, claimsOurAuthservId } from './auth-results.ts';

export interface SealKey {
  readonly domain: string;
  readonly selector: string;
  readonly privateKeyPem: string;
}

export interface SealResult {
  readonly message: Buffer;
  readonly sealed: boolean;
  /** Why no seal was added (an unusable key, a chain that already failed, 50 sets). */
  readonly error: string | null;
}

export async function sealForwardedCopy(message: Buffer, key: SealKey, authservIds: ReadonlySet<string>, now: Date = new Date()): Promise<SealResult> {
  const ours = ourAuthResults(message, authservIds);
  const arc = ours ? /(?:^|;)\s*arc=(\w+)/i.exec(ours)?.[1]?.toLowerCase() : undefined;
  const cv = arc === undefined ? undefined : arc === 'none' ? 'none' : arc === 'pass' ? 'pass' : 'fail';
  const result = (await createSeal(message, {
    seal: {
      signingDomain: key.domain,
      selector: key.selector,
      privateKey: key.privateKeyPem,
      authResults: ours ?? `${[...authservIds][0] ?? key.domain}; none`,
      signTime: now,
      ...(cv ? { cv } : {}),
    },
  })) as { headers: string[]; errors?: { err: Error }[] };
  if (!result.headers.length) {
    return { message, sealed: false, error: result.errors?.map((e) => e.err.message).join('; ') || 'no ARC set was made' };
  }
  return { message: Buffer.concat([Buffer.from(`${result.headers.join('\r\n')}\r\n`, 'utf8'), message]), sealed: true, error: null };
}

/** The value of our Authentication-Results field in the header section, folded as stored. */
export function ourAuthResults(message: Buffer, authservIds: ReadonlySet<string>): string | null {
  const end = message.indexOf('\r\n\r\n');
  const header = message.subarray(0, end < 0 ? Math.min(message.length, 256 * 1024) : end + 2).toString('utf8');
  const fields = header.split(/\r\n(?![ \t])/);
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon < 0 || field.slice(0, colon).trim().toLowerCase() !== authResultsField.toLowerCase()) continue;
    const value = field.slice(colon + 1);
    if (claimsOurAuthservId(value, authservIds)) return value.trim();
  }
  return null;
}
