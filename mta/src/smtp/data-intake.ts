// DATA: read the message from smtp-server's stream, normalise it, check its limits, add our
// header fields, and store it. 250 is sent only when the queue acknowledged every publish
// (docs/architecture.md §2 contract 1); any failure to store is a 4xx, so the client keeps the mail.
import type { Readable } from 'node:stream';
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';
import { MessageScanner, type MessageScan } from '../message/message-scanner.ts';
import { renderDateField, renderMessageIdField, renderReceived } from '../message/trace-headers.ts';
import { checkMessageShape, type MessageLimits } from '../policy/message-limits.ts';
import { localError } from '../policy/rejections.ts';
import { isQueueError, type AcceptedMessage, type ClientInfo, type EnvelopeAddress, type QueueError } from '../queue/index.ts';

export interface ReceivedMessage {
  /** Normalised chunks, in order; empty when the message was over the size limit. */
  readonly chunks: readonly Buffer[];
  readonly scan: MessageScan;
  /** More bytes arrived than `sizeLimit` (smtp-server's own limit, or ours). */
  readonly sizeExceeded: boolean;
  /** The process's memory budget ran out while this message arrived (memory-budget.ts): chunks dropped. */
  readonly overBudget: boolean;
}

/**
 * Where the normalised message goes besides the stored copy (message-checks.ts): `write` gets
 * every chunk as it is (the inbound checks read it as a stream; false pauses the client until
 * `drained`), and the stored copy passes through `store` (which may drop header fields).
 */
export interface MessageTap {
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  store(chunk: Buffer): Buffer[];
  endStore(): Buffer[];
}

/**
 * Reads the whole DATA stream. Keeps at most `sizeLimit` bytes: past it the rest is read and
 * dropped (smtp-server must still see the end-of-data marker to stay in sync with the client).
 */
export function readMessage(
  stream: Readable & { sizeExceeded?: boolean },
  sizeLimit: number,
  tap?: MessageTap,
  reserve: (bytes: number) => boolean = () => true,
): Promise<ReceivedMessage> {
  return new Promise((resolve, reject) => {
    const scanner = new MessageScanner();
    let chunks: Buffer[] = [];
    let received = 0;
    let exceeded = false;
    let overBudget = false;
    const keep = (out: Buffer) => {
      if (out.length === 0) return;
      if (!tap) return chunks.push(out);
      if (!tap.write(out)) {
        stream.pause();
        void tap.drained().then(() => stream.resume());
      }
      for (const stored of tap.store(out)) if (stored.length > 0) chunks.push(stored);
    };
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (exceeded || overBudget) return;
      if (received > sizeLimit) {
        exceeded = true;
        chunks = [];
        return;
      }
      if (!reserve(chunk.length)) {
        overBudget = true;
        chunks = [];
        return;
      }
      keep(scanner.push(chunk));
    });
    stream.once('error', reject);
    stream.once('end', () => {
      if (!exceeded && !overBudget) {
        keep(scanner.end());
        for (const stored of tap?.endStore() ?? []) if (stored.length > 0) chunks.push(stored);
      }
      resolve({ chunks, scan: { ...scanner.scan, size: received }, sizeExceeded: exceeded || stream.sizeExceeded === true, overBudget });
    });
  });
}

/** The end-of-data verdict for a received message. */
export function checkReceived(message: ReceivedMessage, sizeLimit: number, limits: MessageLimits): SmtpError | null {
  return checkMessageShape({ ...message.scan, sizeExceeded: message.sizeExceeded }, sizeLimit, limits);
}

export interface TraceContext {
  readonly queueId: string;
  readonly date: Date;
  readonly byHostname: string;
  readonly client: ClientInfo;
  readonly clientHostname: string | null;
  readonly smtpUtf8: boolean;
  readonly recipients: readonly string[];
  /** Submission completes Date and Message-ID when missing (RFC 6409 §8). */
  readonly completeHeaders: boolean;
  /** Fields of the inbound checks (Authentication-Results, ...), CRLF-terminated, added after Received. */
  readonly checkFields?: string;
}

/** Our header fields followed by the message as received (normalised): the bytes we store. */
export function storedBody(message: ReceivedMessage, t: TraceContext): Buffer {
  let head = renderReceived({
    helo: t.client.helo,
    clientHostname: t.clientHostname,
    clientIp: t.client.ip,
    byHostname: t.byHostname,
    tls: t.client.tls,
    authenticated: t.client.authUser !== null,
    smtpUtf8: t.smtpUtf8,
    queueId: t.queueId,
    recipient: t.recipients.length === 1 ? t.recipients[0]! : null,
    date: t.date,
  });
  head += t.checkFields ?? '';
  if (t.completeHeaders && !message.scan.hasDate) head += renderDateField(t.date);
  if (t.completeHeaders && !message.scan.hasMessageId) head += renderMessageIdField(t.queueId, t.byHostname);
  return Buffer.concat([Buffer.from(head, 'utf8'), ...message.chunks]);
}

/** smtp-server's parsed MAIL/RCPT parameters as the queue record keeps them: in order, as received. */
export function envelopeAddress(address: string, args: Record<string, string | true> | false): EnvelopeAddress {
  const params = Object.entries(args || {}).map(([name, value]) => ({ name, value: value === true ? null : value }));
  return { address, params };
}

/** Stores the message; resolves when JetStream acknowledged it, or rejects with the SmtpError to send. */
export async function enqueueMessage(
  publisher: { enqueue(message: AcceptedMessage, body: Uint8Array): Promise<unknown> },
  message: AcceptedMessage,
  body: Buffer,
): Promise<void> {
  try {
    await publisher.enqueue(message, body);
  } catch (err) {
    throw isQueueError(err) ? queueRefusal(err) : localError(`enqueue of ${message.queueId} failed unexpectedly`, err);
  }
}

// The queue's reply (451 4.3.0, or 452 4.3.1 when the stream is full) with its reason for the log.
function queueRefusal(err: QueueError): SmtpError {
  const full = err.kind === 'full';
  return new SmtpError({
    code: full ? C.C452StorageFull : C.C451LocalError,
    subject: full ? SE.MailSystemFull1 : SE.MailSystem0,
    rule: full ? 'queue_full' : 'queue_unavailable',
    clientMessage: err.reply.text,
    reason: err.message,
    cause: err,
  });
}
