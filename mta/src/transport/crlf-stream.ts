// The streaming forms of smtp-client-message.ts, for bodies delivered from the Object Store
// without holding them whole (docs/reliability.md "Limits"): CRLF line ends across chunk boundaries, and the
// facts a transaction needs before DATA (size after CRLF, 8-bit, header section), learnt in
// a first pass over the stored object so the second pass can be sent as it is read.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { hasEightBit } from './smtp-client-message.ts';

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

/** Bare LF and bare CR become CRLF, as toCrlf() does, however the input is split. */
export function crlfStream(): Transform {
  let pendingCr = false; // the previous chunk ended in CR: is the next byte its LF?
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (chunk.length === 0) return done();
      const out: Buffer[] = [];
      let i = 0;
      if (pendingCr) {
        out.push(CRLF);
        if (chunk[0] === LF) i = 1;
        pendingCr = false;
      }
      let start = i;
      for (; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === CR) {
          if (i + 1 === chunk.length) {
            out.push(chunk.subarray(start, i));
            pendingCr = true;
            start = chunk.length;
            break;
          }
          if (chunk[i + 1] === LF) {
            i++;
            continue;
          }
          out.push(chunk.subarray(start, i), CRLF);
          start = i + 1;
        } else if (b === LF) {
          out.push(chunk.subarray(start, i), CRLF);
          start = i + 1;
        }
      }
      if (start < chunk.length) out.push(chunk.subarray(start));
      // Mail is CRLF already as a rule: then the chunk goes on as it is, not copied (every
      // copy of a streamed body is garbage the collector has to catch up with).
      done(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      done(null, pendingCr ? CRLF : null);
    },
  });
}

export interface MessageFacts {
  /** Bytes after CRLF normalisation: the SIZE= to declare (RFC 1870). */
  readonly size: number;
  /** Any byte outside 7-bit ASCII (8BITMIME, RFC 6152). */
  readonly eightBit: boolean;
  /** The header section up to and including the CRLF before the empty line (needsSmtpUtf8, headerSection). */
  readonly header: Buffer;
}

/** Header sections past this are not kept whole (RFC 5322 sets no limit; ours are far smaller). */
export const maxFactsHeaderBytes = 1024 * 1024;

/** Reads `message` (already CRLF) to its end and returns its facts; holds only the header section. */
export async function messageFacts(message: Readable): Promise<MessageFacts> {
  let size = 0;
  let eightBit = false;
  const head: Buffer[] = [];
  let headBytes = 0;
  let headerDone = false;
  let header = Buffer.alloc(0);
  for await (const chunk of message as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (!eightBit && hasEightBit(chunk)) eightBit = true;
    if (headerDone) continue;
    head.push(chunk);
    headBytes += chunk.length;
    const seen = Buffer.concat(head);
    const end = seen.indexOf('\r\n\r\n');
    if (end >= 0) {
      header = seen.subarray(0, end + 2);
      headerDone = true;
    } else if (headBytes > maxFactsHeaderBytes) {
      header = seen;
      headerDone = true;
    } else {
      head.length = 0;
      head.push(seen);
    }
  }
  if (!headerDone) header = Buffer.concat(head);
  return { size, eightBit, header };
}
