// Removes, from a message as it streams, every Authentication-Results field of the header
// section that claims one of our authserv-ids (RFC 8601 §5; auth-results.ts says why).
//
// Input: the normalised DATA stream (every line ends with CRLF: message-scanner.ts), in chunks
// of any size. Output: the same bytes minus those fields. Memory: nothing is held except the
// current line's first bytes (to read the field name) and an Authentication-Results field
// until its authserv-id is known; that is decided within `maxPendingBytes`, past which an
// Authentication-Results field whose id is still unreadable (a wall of comments) is removed
// too. After the header section everything passes through untouched.
import { claimsOurAuthservId } from './auth-results.ts';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const fieldName = Buffer.from('authentication-results');
const nameProbeBytes = fieldName.length + 16;

export const maxPendingBytes = 8 * 1024;

type FieldMode = 'none' | 'keep' | 'pending' | 'drop';
type LineMode = 'start' | 'emit' | 'pending' | 'drop';

export class AuthResultsFilter {
  readonly #ours: ReadonlySet<string>;
  #inHeader = true;
  #field: FieldMode = 'none';
  #line: LineMode = 'start';
  #head: number[] = [];
  #pending: Buffer[] = [];
  #pendingSize = 0;
  #out: Buffer[] = [];
  #removed = 0;

  /** `authservIds`: our ids (the domains' hostnames), any case. */
  constructor(authservIds: Iterable<string>) {
    this.#ours = new Set([...authservIds].map((id) => id.toLowerCase().replace(/\.$/, '')));
  }

  /** Fields removed so far. */
  get removed(): number {
    return this.#removed;
  }

  push(chunk: Uint8Array): Buffer[] {
    this.#out = [];
    let i = 0;
    while (i < chunk.length) {
      if (!this.#inHeader) {
        this.#out.push(Buffer.from(chunk.subarray(i)));
        break;
      }
      if (this.#line === 'start') {
        i = this.#classify(chunk, i);
        continue;
      }
      const lf = chunk.indexOf(LF, i);
      const end = lf < 0 ? chunk.length : lf + 1;
      this.#write(this.#line, Buffer.from(chunk.subarray(i, end)));
      i = end;
      if (lf >= 0) this.#lineEnded();
    }
    return this.#out;
  }

  /** Ends the message: whatever is still held is decided and written. */
  end(): Buffer[] {
    this.#out = [];
    if (this.#head.length > 0) {
      this.#write(this.#field === 'pending' ? 'pending' : 'emit', Buffer.from(this.#head));
      this.#head = [];
    }
    this.#settle(true);
    return this.#out;
  }

  // At the start of a header line: read enough of it to know what it is.
  #classify(chunk: Uint8Array, i: number): number {
    for (; i < chunk.length && this.#line === 'start'; i++) {
      this.#head.push(chunk[i]!);
      const head = this.#head;
      const first = head[0]!;
      if (first === SP || first === HT) {
        this.#line = this.#field === 'pending' ? 'pending' : this.#field === 'drop' ? 'drop' : 'emit';
      } else if (first === CR) {
        if (head.length < 2) continue;
        this.#settle(true);
        this.#out.push(Buffer.from(head));
        this.#head = [];
        if (head[1] === LF)
          this.#inHeader = false; // the empty line: the body follows
        else this.#line = 'emit';
        if (!this.#inHeader) return i + 1;
        continue;
      } else {
        const colon = head.indexOf(COLON);
        if (colon < 0 && head.length < nameProbeBytes && head[head.length - 1] !== LF) continue;
        this.#settle(true);
        const isAuthResults = colon >= 0 && sameName(head.slice(0, colon));
        this.#field = isAuthResults ? 'pending' : 'keep';
        this.#line = isAuthResults ? 'pending' : 'emit';
      }
      const bytes = Buffer.from(head);
      this.#head = [];
      this.#write(this.#line, bytes);
      if (bytes[bytes.length - 1] === LF) this.#lineEnded();
    }
    return i;
  }

  #write(mode: LineMode, bytes: Buffer): void {
    if (mode === 'emit' || mode === 'start') this.#out.push(bytes);
    else if (mode === 'pending') {
      this.#pending.push(bytes);
      this.#pendingSize += bytes.length;
      if (this.#pendingSize > maxPendingBytes) this.#settle(true);
    }
  }

  #lineEnded(): void {
    if (this.#field === 'pending') this.#settle(false);
    this.#line = 'start';
  }

  // Decides a pending Authentication-Results field when its authserv-id is readable (or when
  // `final`: the field ended, or is too long to wait for).
  #settle(final: boolean): void {
    if (this.#field !== 'pending') return;
    const text = Buffer.concat(this.#pending).toString('latin1');
    const value = text.slice(text.indexOf(':') + 1);
    const decided = readableId(value);
    if (!decided && !final) return;
    const ours = !decided || claimsOurAuthservId(value, this.#ours);
    if (ours) {
      this.#removed++;
      this.#field = 'drop';
      if (this.#line === 'pending') this.#line = 'drop';
    } else {
      this.#out.push(...this.#pending);
      this.#field = 'keep';
      if (this.#line === 'pending') this.#line = 'emit';
    }
    this.#pending = [];
    this.#pendingSize = 0;
  }
}

// "Authentication-Results" followed by nothing but blanks before the colon, any case.
function sameName(name: number[]): boolean {
  let end = name.length;
  while (end > 0 && (name[end - 1] === SP || name[end - 1] === HT)) end--;
  if (end !== fieldName.length) return false;
  for (let i = 0; i < end; i++) {
    const c = name[i]!;
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== fieldName[i]) return false;
  }
  return true;
}

// Whether the authserv-id can be read from what we have: something other than CFWS has
// started, outside any comment (a token cannot span a fold, so a complete line ends it).
function readableId(value: string): boolean {
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && depth > 0) i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0 && c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') return true;
  }
  return false;
}
