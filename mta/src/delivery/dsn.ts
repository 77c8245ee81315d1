// RFC 3464 delivery status notifications, built from structured data only.
//
// A DSN is multipart/report; report-type=delivery-status with three parts: a human
// explanation, the machine-readable message/delivery-status, and the original message's
// headers (text/rfc822-headers, RFC 6522). Nothing from a recipient string, an ESMTP
// parameter or a remote reply is copied raw into a header line: every such value goes
// through `fieldValue`, which turns control characters (CR, LF, NUL, ...) into spaces and
// caps the length, so no one can inject a header or a MIME part. The boundary comes from the
// injected randomness and is checked not to occur in the content.
import { C, enhancedStatus, SE } from '../codes.ts';
import type { EnvelopeAddress, QueueRecord } from '../queue/record.ts';
import type { BouncedRecipient } from './decision.ts';

export interface DsnInput {
  /** The original message's record (envelope, queue id, acceptance time). */
  readonly record: QueueRecord;
  /** The original message as stored; only its header section is used. */
  readonly originalMessage: Uint8Array;
  readonly bounced: readonly BouncedRecipient[];
  /** Our host name (the Reporting-MTA and the MAILER-DAEMON domain). */
  readonly reportingMta: string;
  /** Queue id of the DSN itself (its Message-ID). */
  readonly dsnQueueId: string;
  readonly now: Date;
  /** Random bytes for the MIME boundary. */
  readonly randomHex: (bytes: number) => string;
}

const maxFieldLength = 900; // below the 998-octet line limit with the field name
const maxOriginalHeaderBytes = 64 * 1024;

/** Any value that goes into a header or a status field: no control characters, bounded. */
export function fieldValue(text: string, max = maxFieldLength): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** An address as it may appear between angle brackets or after "rfc822;". */
function addressValue(address: string): string {
  return fieldValue(address, 512).replace(/[<>]/g, '');
}

export function buildDsn(input: DsnInput): Buffer {
  const host = fieldValue(input.reportingMta, 255).replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  const sender = addressValue(input.record.envelope.mailFrom.address);
  const date = input.now.toUTCString().replace('GMT', '+0000');
  const arrival = new Date(input.record.receivedAt).toUTCString().replace('GMT', '+0000');
  const headers = originalHeaders(input.originalMessage);
  const human = humanPart(input, host);
  const status = statusPart(input, host, arrival, date);
  let boundary = '';
  for (let i = 0; i < 5; i++) {
    boundary = `=_stafette_${input.randomHex(12)}`;
    if (![human, status, headers].some((part) => part.includes(boundary))) break;
  }
  const expired = input.bounced.every((b) => b.why === 'expired');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${host}>`,
    `To: <${sender}>`,
    `Subject: ${expired ? 'Undelivered Mail: delivery time expired' : 'Undelivered Mail Returned to Sender'}`,
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
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered Message Headers',
    '',
    headers,
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function humanPart(input: DsnInput, host: string): string {
  const lines = [
    `This is the mail system at host ${host}.`,
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients. The details are below.',
    '',
    `Queue id: ${input.record.queueId}`,
    '',
  ];
  for (const b of input.bounced) {
    const why = b.why === 'expired' ? 'delivery time expired; last reply' : 'permanent failure';
    lines.push(`<${addressValue(b.recipient.address)}>: ${why}: ${diagnostic(b)}`);
  }
  lines.push('');
  return lines.join('\r\n');
}

function statusPart(input: DsnInput, host: string, arrival: string, date: string): string {
  const lines = [`Reporting-MTA: dns; ${host}`, `X-Stafette-Queue-ID: ${fieldValue(input.record.queueId, 64)}`];
  const envid = param(input.record.envelope.mailFrom, 'ENVID');
  if (envid) lines.push(`Original-Envelope-Id: ${fieldValue(envid, 100)}`);
  lines.push(`Arrival-Date: ${arrival}`);
  for (const b of input.bounced) {
    lines.push('');
    lines.push(`Final-Recipient: rfc822; ${addressValue(b.recipient.address)}`);
    const orcpt = param(b.recipient, 'ORCPT');
    if (orcpt && /^[A-Za-z0-9-]+;/.test(orcpt)) lines.push(`Original-Recipient: ${fieldValue(orcpt, 600)}`);
    lines.push('Action: failed');
    lines.push(`Status: ${statusCode(b)}`);
    if (b.remoteMta) lines.push(`Remote-MTA: dns; ${fieldValue(b.remoteMta, 255)}`);
    lines.push(`Diagnostic-Code: smtp; ${diagnostic(b)}`);
    lines.push(`Last-Attempt-Date: ${date}`);
  }
  lines.push('');
  return lines.join('\r\n');
}

function diagnostic(b: BouncedRecipient): string {
  const code = Number.isInteger(b.reply.code) && b.reply.code >= 200 && b.reply.code <= 599 ? b.reply.code : C.C554TransactionFailed;
  const enhanced = /^[245]\.\d{1,3}\.\d{1,3}$/.test(b.reply.enhanced) ? ` ${b.reply.enhanced}` : '';
  return fieldValue(`${code}${enhanced} ${b.reply.text}`);
}

// RFC 3464 §2.3.4 Status: the enhanced code when it is well formed, else one that fits why.
function statusCode(b: BouncedRecipient): string {
  if (/^[45]\.\d{1,3}\.\d{1,3}$/.test(b.reply.enhanced)) return b.reply.enhanced;
  return b.why === 'expired' ? enhancedStatus(4, SE.DeliveryExpired7) : enhancedStatus(5, SE.Other0);
}

function param(address: EnvelopeAddress, name: string): string | null {
  return address.params.find((p) => p.name.toUpperCase() === name)?.value ?? null;
}

// The header section of the original message, lines ending in CRLF, bare CR/LF normalised;
// capped, since a DSN is no place for a 10 MB header.
function originalHeaders(message: Uint8Array): string {
  const text = Buffer.from(message.subarray(0, Math.min(message.length, maxOriginalHeaderBytes * 2))).toString('utf8');
  const normalised = text.replace(/\r\n|\r|\n/g, '\r\n');
  const end = normalised.indexOf('\r\n\r\n');
  let head = end >= 0 ? normalised.slice(0, end) : normalised;
  if (head.length > maxOriginalHeaderBytes) head = head.slice(0, head.lastIndexOf('\r\n', maxOriginalHeaderBytes));
  // A line starting with "--" could look like a boundary; header lines never start so, but
  // a continuation could: indent it.
  return `${head.split('\r\n').map((l) => (l.startsWith('--') ? ` ${l}` : l)).join('\r\n')}\r\n`;
}
