// The Authentication-Results header field (RFC 8601): the one we add, and how we recognise
// one that claims to be ours.
//
// We add exactly one, prepended after our Received (RFC 8601 §5: above the trace fields it
// covers), with the receiving domain's hostname as authserv-id, listing every method's result
// (dkim per signature, spf, arc, dmarc). A field arriving from outside that carries one of our
// authserv-ids is a forgery, or a leftover from a loop, and is removed before we store the
// message (§5: "MUST ... remove or rename"), so a mailbox server that trusts our id trusts
// only what we wrote. Fields with other ids are kept: they are someone else's claims, and
// consumers must not trust them (§7.1).
//
// Smuggling hygiene: the resinfo texts come from mailauth, which builds them from the message;
// every one is reduced to a single line of printable characters before it is folded, so the
// field can never carry a bare CR or LF, or end the header section early.

/** The field name, as we write it. */
export const authResultsField = 'Authentication-Results';

/** `Authentication-Results: <authserv-id>;\r\n <resinfo>;\r\n ...\r\n`, or `...; none` with nothing to report. */
export function renderAuthResults(authservId: string, resinfo: readonly string[]): string {
  const id = oneLine(authservId).replace(/[\s;()"]/g, '') || 'localhost';
  const parts = resinfo.map(oneLine).filter((s) => s !== '');
  if (parts.length === 0) return `${authResultsField}: ${id}; none\r\n`;
  return `${authResultsField}: ${id};\r\n ${parts.join(';\r\n ')}\r\n`;
}

// Control characters (CR, LF, NUL, ...) become spaces; runs of blanks collapse.
function oneLine(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
      .replace(/[\u0000-\u001f\u007f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * The authserv-id of an Authentication-Results field value (what follows the colon, unfolded
 * or not), or null when the value does not start with one. CFWS before it is skipped
 * (comments may nest, RFC 5322 §3.2.2); the id is a token or a quoted-string (RFC 8601 §2.2).
 */
export function authservIdOf(value: string): string | null {
  let i = skipCfws(value, 0);
  if (i < 0 || i >= value.length) return null;
  if (value[i] === '"') {
    let out = '';
    for (i++; i < value.length; i++) {
      const c = value[i]!;
      if (c === '\\' && i + 1 < value.length) out += value[++i];
      else if (c === '"') return out;
      else out += c;
    }
    return null;
  }
  const m = /^[^\s;()"]+/.exec(value.slice(i));
  return m ? m[0] : null;
}

/** Whether a field value claims one of `ours` (lowercase) as its authserv-id. */
export function claimsOurAuthservId(value: string, ours: ReadonlySet<string>): boolean {
  const id = authservIdOf(value);
  return id !== null && ours.has(id.toLowerCase().replace(/\.$/, ''));
}

// Index after the CFWS starting at `i`, or -1 for an unclosed comment.
function skipCfws(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && depth > 0) i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0 && c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') return i;
  }
  return depth > 0 ? -1 : i;
}
