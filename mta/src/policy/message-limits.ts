// Size and shape limits of one message, as pure verdicts. Defaults follow Postfix where it
// has one (docs/reliability.md §1), and the bundle's per-domain limits where the operator set one.
import type { BundleDomain } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import { headerTooBig, lineTooLong, mailLoop, messageTooBig, tooManyRecipients } from './rejections.ts';

export interface MessageLimits {
  /** Bytes, for a message whose recipients are in none of our domains (submission relay). */
  readonly maxMessageSize: number;
  /** Recipients per message when no recipient domain says otherwise (chasquid and RFC 5321 §4.5.3.1.8: 100). */
  readonly maxRecipients: number;
  /** Octets per line without CRLF. RFC 5321 allows 998; Postfix accepts 2048 before it breaks lines. */
  readonly maxLineLength: number;
  /** Bytes of the header section (Postfix header_size_limit 102400). */
  readonly maxHeaderSize: number;
  /** Received headers a message may already carry (Postfix hopcount_limit, chasquid: 50). */
  readonly maxHops: number;
}

export const defaultMessageLimits: MessageLimits = {
  maxMessageSize: 25 * 1024 * 1024,
  maxRecipients: 100,
  maxLineLength: 2048,
  maxHeaderSize: 102_400,
  maxHops: 50,
};

/**
 * The size limit for a message to these recipient domains: the smallest of their limits
 * (every recipient must be able to take the message), or the default for relay-only mail.
 */
export function sizeLimitFor(domains: readonly (BundleDomain | null)[], limits: MessageLimits): number {
  let limit = Infinity;
  for (const d of domains) limit = Math.min(limit, d ? d.inbound.maxMessageSize : limits.maxMessageSize);
  return Number.isFinite(limit) ? limit : limits.maxMessageSize;
}

/** The recipient limit for a message: the smallest among the recipient domains seen so far. */
export function recipientLimitFor(domains: readonly (BundleDomain | null)[], limits: MessageLimits): number {
  let limit = limits.maxRecipients;
  for (const d of domains) if (d) limit = Math.min(limit, d.inbound.maxRecipients);
  return limit;
}

/** At RCPT: may one more recipient be added to a message that has `count` already? */
export function checkRecipientCount(count: number, limit: number): SmtpError | null {
  return count >= limit ? tooManyRecipients(limit) : null;
}

/** At MAIL or RCPT: the size the client declared with SIZE= (RFC 1870), if any. */
export function checkDeclaredSize(declared: number | null, limit: number): SmtpError | null {
  return declared !== null && declared > limit ? messageTooBig(declared, limit, 'declared') : null;
}

/** What the DATA scan found, for the end-of-data checks. */
export interface MessageShape {
  readonly size: number;
  readonly sizeExceeded: boolean;
  readonly headerSize: number;
  readonly longestLine: number;
  readonly receivedCount: number;
}

/** At end of DATA: the first limit the message breaks, or null. Size first, as the cheapest to explain. */
export function checkMessageShape(shape: MessageShape, sizeLimit: number, limits: MessageLimits): SmtpError | null {
  if (shape.sizeExceeded || shape.size > sizeLimit) return messageTooBig(shape.sizeExceeded ? null : shape.size, sizeLimit, 'received');
  if (shape.headerSize > limits.maxHeaderSize) return headerTooBig(shape.headerSize, limits.maxHeaderSize);
  if (shape.longestLine > limits.maxLineLength) return lineTooLong(shape.longestLine, limits.maxLineLength);
  if (shape.receivedCount > limits.maxHops) return mailLoop(shape.receivedCount, limits.maxHops);
  return null;
}
