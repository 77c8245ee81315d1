// The message as it goes out over SMTP or LMTP, and what it asks of the next hop.
// Pure functions over the stored bytes.

/**
 * Line ends as CRLF: a bare LF or a bare CR becomes CRLF (nodemailer's DataStream does the
 * same on the wire, docs/reliability.md §2 F2). Done before DKIM signing so the signature covers
 * exactly the bytes that are sent.
 */
export function toCrlf(body: Buffer): Buffer {
  let bare = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if ((b === 0x0d && body[i + 1] !== 0x0a) || (b === 0x0a && (i === 0 || body[i - 1] !== 0x0d))) {
      bare = true;
      break;
    }
  }
  if (!bare) return body;
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === 0x0d) {
      out.push(0x0d, 0x0a);
      if (body[i + 1] === 0x0a) i++;
    } else if (b === 0x0a) {
      out.push(0x0d, 0x0a);
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** Whether any byte is outside 7-bit ASCII (needs 8BITMIME, RFC 6152). */
export function hasEightBit(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

/** The header section: the bytes up to the first empty line. */
export function headerSection(message: Buffer): Buffer {
  const end = message.indexOf('\r\n\r\n');
  return end < 0 ? message : message.subarray(0, end + 2);
}

/**
 * Whether the transaction needs SMTPUTF8 (RFC 6531): non-ASCII envelope addresses, or
 * UTF-8 in the header section. Such mail cannot be downgraded by us; without SMTPUTF8 at
 * the next hop it bounces with 5.6.7 (RFC 6531 §3.2).
 */
export function needsSmtpUtf8(from: string, to: readonly string[], message: Buffer): boolean {
  const nonAscii = (s: string) => /\P{ASCII}/u.test(s);
  return nonAscii(from) || to.some(nonAscii) || hasEightBit(headerSection(message));
}
