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
import { isQueueError, type AcceptedMessage, type BodyStream, type ClientInfo, type EnvelopeAddress, type QueueError } from '../queue/index.ts';

export interface ReceivedMessage {
  /**
   * Normalised chunks, in order; empty when the message was over the size limit. For a
   * streamed message only the first ones (the whole header section and more, held in memory
   * for the checks); every chunk, these included, went to `streamed`.
   */
  readonly chunks: readonly Buffer[];
  /** The Object Store write the message went to (body-streaming.ts); null: held whole in `chunks`. */
  readonly streamed: StreamedBody | null;
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

/** What intake uses of an Object Store write (queue/body-stream.ts). */
export type StreamedBody = Pick<BodyStream, 'write' | 'drained' | 'end' | 'abort'>;

/** How a message that grows large leaves memory during DATA (body-streaming.ts). */
export interface BodySpill {
  /** Once this many bytes are held and the header section is complete, the rest is streamed. */
  readonly thresholdBytes: number;
  /** Opens the Object Store write the held chunks and every later one go to. */
  open(): StreamedBody;
  /** Reserves memory for a chunk waiting for the Object Store (released when the write takes it: BodyStream's `taken`). */
  reserve(bytes: number): boolean;
}

export interface ReadOptions {
  readonly tap?: MessageTap | undefined;
  /** Reserves memory for data held whole (counted bytesPerDataByte times by the caller). */
  readonly reserve?: (bytes: number) => boolean;
  readonly spill?: BodySpill | undefined;
}

/**
 * Reads the whole DATA stream. Keeps at most `sizeLimit` bytes: past it the rest is read and
 * dropped (smtp-server must still see the end-of-data marker to stay in sync with the client).
 * With `spill`, a message past its threshold goes on to the Object Store chunk by chunk; on a
 * size or budget refusal the caller aborts `streamed` (the partial object is removed).
 */
export function readMessage(stream: Readable & { sizeExceeded?: boolean }, sizeLimit: number, opts: ReadOptions = {}): Promise<ReceivedMessage> {
  const { tap, spill } = opts;
  const reserve = opts.reserve ?? (() => true);
  return new Promise((resolve, reject) => {
    const scanner = new MessageScanner();
    let chunks: Buffer[] = [];
    let held = 0;
    let streamed: StreamedBody | null = null;
    let received = 0;
    let exceeded = false;
    let overBudget = false;
    const waits: Promise<void>[] = [];
    const store = (stored: Buffer) => {
      if (stored.length === 0 || overBudget) return;
      if (streamed) {
        if (!spill!.reserve(stored.length)) {
          overBudget = true;
          return;
        }
        if (!streamed.write(stored, stored.length)) waits.push(streamed.drained());
        return;
      }
      chunks.push(stored);
      held += stored.length;
      if (spill && held >= spill.thresholdBytes && !scanner.inHeader) {
        const opened = spill.open();
        streamed = opened;
        let below = true;
        for (const c of chunks) below = opened.write(c, 0);
        if (!below) waits.push(opened.drained());
      }
    };
    const keep = (out: Buffer) => {
      if (out.length === 0) return;
      if (!tap) return store(out);
      if (!tap.write(out)) waits.push(tap.drained());
      for (const stored of tap.store(out)) store(stored);
    };
    const pauseForWaits = () => {
      if (waits.length === 0) return;
      const all = Promise.all(waits.splice(0));
      stream.pause();
      void all.then(() => stream.resume());
    };
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (exceeded || overBudget) return;
      if (received > sizeLimit) {
        exceeded = true;
        chunks = [];
        return;
      }
      if (!streamed && !reserve(chunk.length)) {
        overBudget = true;
        chunks = [];
        return;
      }
      keep(scanner.push(chunk));
      if (overBudget) chunks = [];
      pauseForWaits();
    });
    stream.once('error', (err) => {
      void streamed?.abort();
      reject(err);
    });
    stream.once('end', () => {
      if (!exceeded && !overBudget) {
        keep(scanner.end());
        for (const stored of tap?.endStore() ?? []) store(stored);
      }
      resolve({ chunks, streamed, scan: { ...scanner.scan, size: received }, sizeExceeded: exceeded || stream.sizeExceeded === true, overBudget });
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
export function storedBody(message: Pick<ReceivedMessage, 'chunks' | 'scan'>, t: TraceContext): Buffer {
  return Buffer.concat([Buffer.from(addedFields(message.scan, t), 'utf8'), ...message.chunks]);
}

/** The header fields intake puts in front of a message (Received first), CRLF-terminated. */
export function addedFields(scan: MessageScan, t: TraceContext): string {
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
  if (t.completeHeaders && !scan.hasDate) head += renderDateField(t.date);
  if (t.completeHeaders && !scan.hasMessageId) head += renderMessageIdField(t.queueId, t.byHostname);
  return head;
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
export function queueRefusal(err: QueueError): SmtpError {
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
