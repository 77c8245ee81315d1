// RFC 5321 §4.5.2: "If the first character is a period and there are other characters on the
// line, the first character is deleted." smtp-server's SMTPStream deletes it only when the
// next character is a period too (`..x` -> `.x`), so a body line `.x` a client sent without
// stuffing (many do, and a peer's dialog suite checks it) stayed `.x`.
//
// Installed on SMTPStream: while the stream is in data mode, every chunk passes through an
// unstuffer first that drops a line-start period followed by anything but a period, CR or LF.
// `..x` is left for smtp-server (which makes it `.x`), `.\r\n` (the end of data), `.\r` and
// `.\n` (a line of a single period: bare line ends are normalised later) are left alone, and after the end-of-data marker the rest of the chunk is commands again
// and passes unchanged. A period that ends a chunk at a line start is held back until the
// next chunk shows what follows it. "Line start" is after LF (CRLF or a bare LF), as in
// smtp-server's own unstuffing.
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export class DotUnstuffer {
  #lineStart = true;
  #heldDot = false;
  /** The last 5 bytes passed on as one number (40 bits), to see the end-of-data marker `\r\n.\r\n`. */
  #tail = 0x0d0a;
  #ended = false;

  /**
   * The chunk as smtp-server should see it: slices of the input around the deleted periods,
   * no copy at all for a chunk without one (the byte-wise copy it replaces was 3% of the
   * MTA's CPU under `npm run bench`, issue 15).
   */
  push(chunk: Buffer): Buffer {
    if (this.#ended) return chunk;
    let input = chunk;
    if (this.#heldDot) {
      this.#heldDot = false;
      input = Buffer.concat([dot, chunk]);
    }
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < input.length; i++) {
      const b = input[i]!;
      if (this.#lineStart && b === DOT) {
        if (i + 1 >= input.length) {
          this.#heldDot = true;
          parts.push(input.subarray(from, i));
          from = input.length;
          break;
        }
        const next = input[i + 1]!;
        this.#lineStart = false;
        if (next !== DOT && next !== CR && next !== LF) {
          // The single leading dot is deleted.
          parts.push(input.subarray(from, i));
          from = i + 1;
          continue;
        }
        this.#see(b);
        if (next === DOT) {
          this.#see(next);
          i++;
        }
        continue;
      }
      this.#see(b);
      this.#lineStart = b === LF;
      if (this.#tail === endOfData) {
        // The rest of the chunk is commands again and passes unchanged.
        this.#ended = true;
        break;
      }
    }
    if (from < input.length) parts.push(input.subarray(from));
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #see(b: number): void {
    this.#tail = (this.#tail * 256 + b) % 2 ** 40;
  }
}

const dot = Buffer.from('.');
const endOfData = 0x0d0a2e0d0a; // \r\n.\r\n

interface StreamInternals {
  _dataMode: boolean;
  startDataMode: (this: StreamInternals, maxBytes?: number) => unknown;
  _write: (this: StreamInternals, chunk: Buffer, encoding: BufferEncoding, next: (err?: Error | null) => void) => void;
}

const unstuffers = new WeakMap<object, DotUnstuffer>();
let installed = false;

/** Wraps SMTPStream's startDataMode() and _write() once per process. */
export function installSingleDotLines(): void {
  if (installed) return;
  const proto = SMTPStream.prototype as unknown as StreamInternals;
  const startDataMode = proto.startDataMode;
  const write = proto._write;
  if (typeof startDataMode !== 'function' || typeof write !== 'function' || !String(write).includes('_feedDataStream')) {
    throw new Error('smtp-server changed; mta/src/smtp/single-dot-lines.ts must be reviewed');
  }
  proto.startDataMode = function (this: StreamInternals, maxBytes?: number) {
    unstuffers.set(this, new DotUnstuffer());
    return startDataMode.call(this, maxBytes);
  };
  proto._write = function (this: StreamInternals, chunk, encoding, next) {
    const unstuffer = this._dataMode ? unstuffers.get(this) : undefined;
    if (unstuffer && chunk && chunk.length > 0) {
      const passed = unstuffer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      if (passed.length === 0) return next();
      return write.call(this, passed, 'buffer' as BufferEncoding, next);
    }
    return write.call(this, chunk, encoding, next);
  };
  installed = true;
}
