// A large stored body as the transports send it without holding it whole (docs/reliability.md
// "Limits", streamed delivery): every pass reads the body again from the Object Store
// (queue/body-reader.ts), so a transport needs two or three passes instead of one copy:
//  1. (mail we sign) the header section picks the key, and mailauth's signer reads the body
//     for its hash: the DKIM-Signature lines are all that is kept (dkim/sign.ts);
//  2. the facts SMTP needs before DATA: SIZE, 8-bit, the header section (crlf-stream.ts);
//  3. the message, sent as it is read.
// An error while reading (a NATS failure, a body that does not match its record's digest)
// is the stream's error on every pass; smtp-client.ts closes the connection on it, so no
// final dot ends a broken message.
import { pipeline, Readable } from 'node:stream';
import { isStreamed } from '../delivery/attempt.ts';
import type { BodySource } from '../queue/body-reader.ts';
import { crlfStream, maxFactsHeaderBytes, messageFacts } from './crlf-stream.ts';
import { hasEightBit, headerSection, toCrlf } from './smtp-client-message.ts';

export type { BodySource } from '../queue/body-reader.ts';

/** The body from the start with CRLF line ends; an error in the source is this stream's error. */
export function openCrlf(source: BodySource): Readable {
  return pipeline(source.open(), crlfStream(), () => {});
}

/** `source` with `prefix` (DKIM signatures, CRLF) in front. */
export function withPrefix(source: BodySource, prefix: string): BodySource {
  if (prefix === '') return source;
  const head = Buffer.from(prefix, 'utf8');
  return {
    size: head.length + source.size,
    open: () =>
      Readable.from(
        (async function* () {
          yield head;
          yield* source.open() as AsyncIterable<Buffer>;
        })(),
        { objectMode: false },
      ),
  };
}

/** The header section (CRLF, up to and including the CRLF before the empty line), read no further. */
export async function readHeaderSection(source: BodySource): Promise<Buffer> {
  let seen = Buffer.alloc(0);
  const stream = openCrlf(source);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end >= 0) return seen.subarray(0, end + 2);
      if (seen.length > maxFactsHeaderBytes) return seen;
    }
    return seen;
  } finally {
    stream.destroy();
  }
}

/** A message ready for SMTP or LMTP: the facts DATA needs and the bytes, whole or read again per send. */
export interface OutgoingMessage {
  /** Bytes after CRLF normalisation (SIZE=, RFC 1870). */
  readonly size: number;
  readonly eightBit: boolean;
  /** The header section, CRLF. */
  readonly header: Buffer;
  /** The whole message, or null when it is streamed. */
  readonly whole: Buffer | null;
  /** The bytes for one send: the whole Buffer, or a new stream from the start. */
  open(): Buffer | Readable;
}

/** A message held whole (already CRLF). */
export function wholeMessage(message: Buffer): OutgoingMessage {
  return { size: message.length, eightBit: hasEightBit(message), header: headerSection(message), whole: message, open: () => message };
}

/** A streamed message, with its facts from a first pass over it. */
export async function streamedMessage(source: BodySource): Promise<OutgoingMessage> {
  const facts = await messageFacts(openCrlf(source));
  return { ...facts, whole: null, open: () => openCrlf(source) };
}

/** Either of the above, for a transport that does not sign (LMTP). */
export async function outgoingMessage(body: Buffer | BodySource): Promise<OutgoingMessage> {
  return isStreamed(body) ? await streamedMessage(body) : wholeMessage(toCrlf(body));
}
