// Delivery status notifications (RFC 3464) of every kind, built from structured data only:
// failed (a bounce), delayed (still being retried), delivered (final delivery by us: a local
// mailbox), relayed (handed to a next hop that does not offer DSN, RFC 3461 §6.2.2), expanded
// (sent on to other addresses by a forward or an alias, RFC 3461 §6.2.7.3).
//
// A notice is multipart/report; report-type=delivery-status with three parts: a human
// explanation, message/delivery-status, and the original message: the whole of it as
// message/rfc822 when a failure notice was asked for with RET=FULL (and the message is not
// over `maxReturnedBytes`), else its header section as text/rfc822-headers (RFC 6522). Success
// and delay notices always carry headers only (RFC 3461 §4.3 makes RET about failures), and so
// does every notice about a REQUIRETLS message (RFC 8689 §5.2: a notice must not expose the
// content over a path weaker than the sender demanded).
//
// Nothing from a recipient string, a parameter or a remote reply is copied raw into a header
// line: every value goes through `fieldValue` (control characters become spaces, length is
// capped), so nobody can inject a header or a MIME part. The boundary comes from the injected
// randomness and is checked not to occur in the content.
import { C, SE, enhancedStatus } from '../codes.ts';
import { parseMailDsnParams, parseRcptDsnParams, type MailDsnParams } from './params.ts';
import type { EnvelopeAddress, QueueRecord } from '../queue/record.ts';

export type NoticeAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface NoticeRecipient {
  readonly recipient: EnvelopeAddress;
  readonly action: NoticeAction;
  /** The reply that decided it (Diagnostic-Code, Status), ours or the remote's. */
  readonly reply: { readonly code: number; readonly enhanced: string; readonly text: string };
  readonly remoteMta?: string;
  /** failed: the lifetime passed (a 4.x.x status), not a permanent refusal. */
  readonly expired?: boolean;
  /** delayed: when we give up (Will-Retry-Until, RFC 3464 §2.3.9). */
  readonly willRetryUntil?: Date;
}

export interface NoticeInput {
  readonly record: QueueRecord;
  /** The message as stored. */
  readonly originalMessage: Uint8Array;
  /** All of one kind of action per notice is usual; mixing is allowed (each has its fields). */
  readonly recipients: readonly NoticeRecipient[];
  /** Our host name (the Reporting-MTA and the MAILER-DAEMON domain). */
  readonly reportingMta: string;
  /** Queue id of the notice itself (its Message-ID). */
  readonly dsnQueueId: string;
  readonly now: Date;
  readonly randomHex: (bytes: number) => string;
  /** RET=FULL returns at most this much (default 10 MiB); a larger message returns its headers. */
  readonly maxReturnedBytes?: number;
  /**
   * The stored message's size when `originalMessage` is only its beginning (at least
   * `originalHeadBytes`: a streamed body, which delivery does not hold whole); then the
   * headers are returned, whatever RET says.
   */
  readonly originalSize?: number;
}

/** How much of a message's beginning a notice reads for its headers (twice the headers' cap). */
export const originalHeadBytes = 128 * 1024;

const maxFieldLength = 900; // below the 998-octet line limit with the field name
const maxHumanLine = 990; // a line of the human-readable part, "..." included, within 998 octets
const maxOriginalHeaderBytes = 64 * 1024;
/** RET=FULL's default cap (NoticeInput.maxReturnedBytes). */
export const defaultMaxReturned = 10 * 1024 * 1024;

/**
 * Any value that goes into a header or a status field: no control characters, at most `max`
 * UTF-8 octets (then "..."; the 998-octet line limit counts octets, and a character is never
 * split). Found by fuzzing (docs/fuzzing.md): capping UTF-16 units let 900 "€" make a
 * 2,700-octet line.
 */
export function fieldValue(text: string, max = maxFieldLength): string {
  const clean = text
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (Buffer.byteLength(clean) <= max) return clean;
  let kept = '';
  let octets = 0;
  for (const ch of clean) {
    octets += Buffer.byteLength(ch);
    if (octets > max) break;
    kept += ch;
  }
  return `${kept}...`;
}

/** The sender's DSN requests as they ride in the record (params.ts; a malformed one counts as absent). */
export function mailDsnOf(record: QueueRecord): MailDsnParams {
  const parsed = parseMailDsnParams(record.envelope.mailFrom.params);
  return 'code' in parsed ? { ret: null, envid: null, requireTls: false } : parsed;
}

export function buildNotice(input: NoticeInput): Buffer {
  const host = fieldValue(input.reportingMta, 255).replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  const mail = mailDsnOf(input.record);
  const date = rfcDate(input.now);
  const human = humanPart(input, host);
  const status = statusPart(input, host, mail, date);
  const returnFull =
    mail.ret === 'FULL' &&
    !mail.requireTls &&
    input.recipients.some((r) => r.action === 'failed') &&
    input.originalSize === undefined &&
    input.originalMessage.length <= (input.maxReturnedBytes ?? defaultMaxReturned);
  const original = returnFull ? crlf(Buffer.from(input.originalMessage).toString('utf8')) : originalHeaders(input.originalMessage);
  let boundary = '';
  for (let i = 0; i < 5; i++) {
    boundary = `=_stafette_${input.randomHex(12)}`;
    if (![human, status, original].some((part) => part.includes(boundary))) break;
  }
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${host}>`,
    `To: <${addressValue(input.record.envelope.mailFrom.address)}>`,
    `Subject: ${subjectOf(input.recipients)}`,
    `Date: ${date}`,
    `Message-ID: <${input.dsnQueueId}@${host}>`,
    'Auto-Submitted: auto-replied', // RFC 3834: no automatic replies to this
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'Content-Description: Notification',
    '',
    human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    status,
    `--${boundary}`,
    ...(returnFull
      ? ['Content-Type: message/rfc822', 'Content-Description: Undelivered Message']
      : ['Content-Type: text/rfc822-headers', 'Content-Description: Message Headers']),
    '',
    original,
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function subjectOf(recipients: readonly NoticeRecipient[]): string {
  const actions = new Set(recipients.map((r) => r.action));
  if (actions.has('failed')) return recipients.every((r) => r.expired) ? 'Undelivered Mail: delivery time expired' : 'Undelivered Mail Returned to Sender';
  if (actions.has('delayed')) return 'Delayed Mail (still being retried)';
  return actions.has('delivered') ? 'Successful Mail Delivery Report' : 'Delivery Status Notification (relayed)';
}

const explanations: Record<NoticeAction, string> = {
  failed: 'could not be delivered',
  delayed: 'has not been delivered yet; we keep trying',
  delivered: 'was delivered to the mailbox',
  relayed: 'was passed on to a mail system that does not send delivery notices; no further notice will follow',
  expanded: 'was forwarded to other addresses; no further notice will follow from us',
};

function humanPart(input: NoticeInput, host: string): string {
  const lines = [`This is the mail system at host ${host}.`, '', `Queue id: ${fieldValue(input.record.queueId, 64)}`, ''];
  for (const r of input.recipients) {
    const until = r.action === 'delayed' && r.willRetryUntil ? ` (until ${rfcDate(r.willRetryUntil)})` : '';
    // Address, explanation and diagnostic together could pass the 998-octet line limit: capped as a whole.
    lines.push(fieldValue(`<${addressValue(r.recipient.address)}>: your message ${explanations[r.action]}${until}: ${diagnostic(r)}`, maxHumanLine));
  }
  lines.push('');
  return lines.join('\r\n');
}

function statusPart(input: NoticeInput, host: string, mail: MailDsnParams, date: string): string {
  const lines = [`Reporting-MTA: dns; ${host}`, `X-Stafette-Queue-ID: ${fieldValue(input.record.queueId, 64)}`];
  if (mail.envid !== null) lines.push(`Original-Envelope-Id: ${fieldValue(mail.envid, 100)}`);
  lines.push(`Arrival-Date: ${rfcDate(new Date(input.record.receivedAt))}`);
  for (const r of input.recipients) {
    lines.push('');
    const rcpt = parseRcptDsnParams(r.recipient.params);
    const orcpt = 'code' in rcpt ? null : rcpt.orcpt;
    if (orcpt) lines.push(`Original-Recipient: ${fieldValue(orcpt.type, 20)}; ${addressValue(orcpt.address)}`);
    lines.push(`Final-Recipient: rfc822; ${addressValue(r.recipient.address)}`);
    lines.push(`Action: ${r.action}`);
    lines.push(`Status: ${statusCode(r)}`);
    if (r.remoteMta) lines.push(`Remote-MTA: dns; ${fieldValue(r.remoteMta, 255)}`);
    lines.push(`Diagnostic-Code: smtp; ${diagnostic(r)}`);
    lines.push(`Last-Attempt-Date: ${date}`);
    if (r.action === 'delayed' && r.willRetryUntil) lines.push(`Will-Retry-Until: ${rfcDate(r.willRetryUntil)}`);
  }
  lines.push('');
  return lines.join('\r\n');
}

function diagnostic(r: NoticeRecipient): string {
  const code = Number.isInteger(r.reply.code) && r.reply.code >= 200 && r.reply.code <= 599 ? String(r.reply.code) : String(C.C554TransactionFailed);
  const enhanced = /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.reply.enhanced) ? ` ${r.reply.enhanced}` : '';
  return fieldValue(`${code}${enhanced} ${r.reply.text}`);
}

// RFC 3464 §2.3.4: the class follows the action (2 success, 4 delay or expiry, 5 failure).
function statusCode(r: NoticeRecipient): string {
  const given = /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.reply.enhanced) ? r.reply.enhanced : null;
  switch (r.action) {
    case 'failed':
      if (given && (given.startsWith('5') || (r.expired && given.startsWith('4')))) return given;
      return r.expired ? enhancedStatus(4, SE.DeliveryExpired7) : enhancedStatus(5, SE.Other0);
    case 'delayed':
      return given?.startsWith('4') ? given : enhancedStatus(4, SE.Other0);
    default:
      return given?.startsWith('2') ? given : enhancedStatus(2, SE.Other0);
  }
}

function addressValue(address: string): string {
  return fieldValue(address, 512).replace(/[<>]/g, '');
}

function rfcDate(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function crlf(text: string): string {
  const normalised = text.replace(/\r\n|\r|\n/g, '\r\n');
  // A line that looks like our boundary cannot occur (checked above); the part ends with CRLF.
  return normalised.endsWith('\r\n') ? normalised.slice(0, -2) : normalised;
}

// The header section of the original message, lines ending in CRLF, bare CR/LF normalised;
// capped, since a notice is no place for a 10 MB header.
function originalHeaders(message: Uint8Array): string {
  const text = Buffer.from(message.subarray(0, Math.min(message.length, maxOriginalHeaderBytes * 2))).toString('utf8');
  const normalised = text.replace(/\r\n|\r|\n/g, '\r\n');
  const end = normalised.indexOf('\r\n\r\n');
  let head = end >= 0 ? normalised.slice(0, end) : normalised;
  if (head.length > maxOriginalHeaderBytes) head = head.slice(0, head.lastIndexOf('\r\n', maxOriginalHeaderBytes));
  // A line starting with "--" could look like a boundary; header lines never start so, but
  // a continuation could: indent it.
  return `${head
    .split('\r\n')
    .map((l) => (l.startsWith('--') ? ` ${l}` : l))
    .join('\r\n')}\r\n`;
}
