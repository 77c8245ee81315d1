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
  /** The last up to 5 bytes passed on, to see the end-of-data marker `\r\n.\r\n`. */
  #tail = Buffer.from('...\r\n'); // the last #tailLength bytes are the tail
  #tailLength = 2;
  #ended = false;

  /**
   * The chunk as smtp-server should see it. Works a line at a time (indexOf and subarray, one
   * copy per chunk, none when nothing is deleted): every byte of every DATA passes here, and a
   * per-byte loop that allocated starved the event loop for seconds when many clients sent at
   * once (the NATS client then missed its PONGs and dropped the connection, so even the
   * messages that fitted the memory budget were refused 451 4.3.0).
   */
  push(chunk: Buffer): Buffer {
    if (this.#ended) return chunk;
    let input = chunk;
    if (this.#heldDot) {
      this.#heldDot = false;
      input = Buffer.concat([Buffer.from('.'), chunk]);
    }
    const parts: Buffer[] = [];
    let changed = input !== chunk;
    let pos = 0;
    while (pos < input.length) {
      if (this.#lineStart && input[pos] === DOT) {
        if (pos + 1 >= input.length) {
          this.#heldDot = true;
          changed = true;
          break;
        }
        const next = input[pos + 1]!;
        this.#lineStart = false;
        if (next !== DOT && next !== CR && next !== LF) {
          pos++; // the single leading dot is deleted
          changed = true;
          continue;
        }
        const kept = next === DOT ? 2 : 1; // `..` is left for smtp-server; `.` before CR/LF stays
        this.#pass(parts, input.subarray(pos, pos + kept));
        pos += kept;
        continue;
      }
      const lf = input.indexOf(LF, pos);
      const end = lf < 0 ? input.length : lf + 1;
      this.#pass(parts, input.subarray(pos, end));
      pos = end;
      this.#lineStart = lf >= 0;
      if (lf >= 0 && this.#atEndOfData()) {
        this.#ended = true;
        parts.push(input.subarray(pos));
        break;
      }
    }
    return changed ? Buffer.concat(parts) : chunk;
  }

  #pass(parts: Buffer[], bytes: Buffer): void {
    parts.push(bytes);
    if (bytes.length >= 5) {
      bytes.copy(this.#tail, 0, bytes.length - 5);
      this.#tailLength = 5;
      return;
    }
    this.#tail.copyWithin(0, bytes.length);
    bytes.copy(this.#tail, 5 - bytes.length);
    this.#tailLength = Math.min(5, this.#tailLength + bytes.length);
  }

  #atEndOfData(): boolean {
    return this.#tailLength === 5 && this.#tail.equals(endOfData);
  }
}

const endOfData = Buffer.from('\r\n.\r\n');

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
