// One pass over a message as it arrives in DATA: normalise line endings and measure what the
// end-of-data limits need, without holding more than the current chunk.
//
// Why normalise (docs/reliability.md §2 F1/F2, §3 scenarios 17-18): smtp-server answers 250 to bodies with bare
// CR and bare LF and stores them as sent; nodemailer later sends a bare CR through unchanged.
// A next hop that treats CR or LF alone as a line end would then see an end-of-data marker
// (`\r.\r\n`) inside our message: SMTP smuggling. So nothing we store may contain a CR or LF
// outside a CRLF pair:
//   - a bare LF becomes CRLF (it was meant as a line end: Unix tools write LF; Postfix
//     smtpd_forbid_bare_newline=normalize does the same);
//   - a bare CR becomes a space (it has no meaning in mail; Postfix cleanup_replace_stray_cr_lf).
// After this every line ends with CRLF, so the dot-stuffing of the next hop is unambiguous.
// NUL and 8-bit bytes pass unchanged: they cannot end DATA.
//
// What it measures (after normalisation): total size, the longest line (octets without
// CRLF), the size of the header section, the Received headers (hop count), and whether
// Message-ID and Date are present. The header section ends at the first empty line, or at
// the first line that is not a header field (Postfix does the same), so a message without
// headers does not count as one huge header.
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

export interface MessageScan {
  /** Bytes after normalisation. */
  readonly size: number;
  readonly longestLine: number;
  readonly headerSize: number;
  readonly receivedCount: number;
  readonly hasMessageId: boolean;
  readonly hasDate: boolean;
  /** Stray CRs replaced by a space. */
  readonly bareCr: number;
  /** Stray LFs turned into CRLF. */
  readonly bareLf: number;
}

// Where the current header line is: at its start, in the field name, in blanks after the name
// (obsolete "Received :" syntax, RFC 5322 §4.5), past the colon, or not a header field at all.
const FieldStates = { start: 0, name: 1, blanks: 2, field: 3, notField: 4 } as const;
type FieldState = (typeof FieldStates)[keyof typeof FieldStates];

const prefixLength = 16;
const watched: readonly { name: Buffer; key: 'received' | 'messageId' | 'date' }[] = [
  { name: Buffer.from('received'), key: 'received' },
  { name: Buffer.from('message-id'), key: 'messageId' },
  { name: Buffer.from('date'), key: 'date' },
];

export class MessageScanner {
  #pendingCr = false;
  #size = 0;
  #lineLength = 0;
  #longestLine = 0;
  #inHeader = true;
  #headerSize = 0;
  #field: FieldState = FieldStates.start;
  #prefix = Buffer.alloc(prefixLength);
  #prefixLength = 0;
  #received = 0;
  #messageId = false;
  #date = false;
  #bareCr = 0;
  #bareLf = 0;
  // Output of the chunk being processed; a bare LF grows by one byte, so 2x always fits.
  #out: Buffer = Buffer.alloc(0);
  #o = 0;

  /** Normalises one chunk; returns the bytes to store (possibly fewer: a trailing CR waits for the next chunk). */
  push(chunk: Uint8Array): Buffer {
    this.#out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    this.#o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        if (b === LF) {
          this.#emitLineEnd();
          continue;
        }
        this.#bareCr++;
        this.#byte(SP);
      }
      if (b === CR) this.#pendingCr = true;
      else if (b === LF) {
        this.#bareLf++;
        this.#emitLineEnd();
      } else this.#byte(b);
    }
    return this.#out.subarray(0, this.#o);
  }

  /** Ends the message; returns the last bytes to store (a trailing bare CR becomes a space). */
  end(): Buffer {
    this.#out = Buffer.allocUnsafe(2);
    this.#o = 0;
    if (this.#pendingCr) {
      this.#pendingCr = false;
      this.#bareCr++;
      this.#byte(SP);
    }
    if (this.#lineLength > 0) this.#endLine(false);
    return this.#out.subarray(0, this.#o);
  }

  /** Whether the header section is still arriving (false once its blank line was passed on). */
  get inHeader(): boolean {
    return this.#inHeader;
  }

  /** What was measured so far (complete after end()). */
  get scan(): MessageScan {
    return {
      size: this.#size,
      longestLine: this.#longestLine,
      headerSize: this.#headerSize,
      receivedCount: this.#received,
      hasMessageId: this.#messageId,
      hasDate: this.#date,
      bareCr: this.#bareCr,
      bareLf: this.#bareLf,
    };
  }

  #byte(b: number): void {
    this.#out[this.#o++] = b;
    this.#size++;
    if (this.#inHeader) {
      if (this.#prefixLength < prefixLength) this.#prefix[this.#prefixLength++] = b;
      this.#field = nextFieldState(this.#field, b);
    }
    this.#lineLength++;
  }

  #emitLineEnd(): void {
    this.#out[this.#o++] = CR;
    this.#out[this.#o++] = LF;
    this.#size += 2;
    this.#endLine(true);
  }

  #endLine(withCrlf: boolean): void {
    if (this.#lineLength > this.#longestLine) this.#longestLine = this.#lineLength;
    if (this.#inHeader) {
      if (this.#lineLength === 0) {
        this.#headerSize += 2;
        this.#inHeader = false;
      } else if (this.#field === FieldStates.field) {
        this.#headerSize += this.#lineLength + (withCrlf ? 2 : 0);
        this.#countField();
      } else {
        this.#inHeader = false; // the first body line of a message without a blank line
      }
    }
    this.#lineLength = 0;
    this.#prefixLength = 0;
    this.#field = FieldStates.start;
  }

  #countField(): void {
    const first = this.#prefix[0];
    if (first === SP || first === HT) return; // a continuation line
    for (const w of watched) {
      if (!startsWithField(this.#prefix.subarray(0, this.#prefixLength), w.name)) continue;
      if (w.key === 'received') this.#received++;
      else if (w.key === 'messageId') this.#messageId = true;
      else this.#date = true;
    }
  }
}

// A field name is printable ASCII other than ':' (RFC 5322 §3.6.8); a line starting with a
// blank continues the previous field.
function nextFieldState(state: FieldState, b: number): FieldState {
  switch (state) {
    case FieldStates.start:
      if (b === SP || b === HT) return FieldStates.field;
      return b > 0x20 && b < 0x7f && b !== COLON ? FieldStates.name : FieldStates.notField;
    case FieldStates.name:
      if (b === COLON) return FieldStates.field;
      if (b === SP || b === HT) return FieldStates.blanks;
      return b > 0x20 && b < 0x7f ? FieldStates.name : FieldStates.notField;
    case FieldStates.blanks:
      if (b === COLON) return FieldStates.field;
      return b === SP || b === HT ? FieldStates.blanks : FieldStates.notField;
    default:
      return state;
  }
}

// Case-insensitive "<name>[blanks]:" at the start of the line prefix.
function startsWithField(prefix: Buffer, name: Buffer): boolean {
  if (prefix.length <= name.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = prefix[i]!;
    const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    if (lower !== name[i]) return false;
  }
  for (let i = name.length; i < prefix.length; i++) {
    const c = prefix[i]!;
    if (c === COLON) return true;
    if (c !== SP && c !== HT) return false;
  }
  return false;
}
