// The header fields intake adds to a message before it is stored:
//  - Received (RFC 5321 §4.4), on every message: the trace that loop detection and humans
//    read. Protocol names from RFC 3848 / RFC 6531 (ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP*).
//    `for <rcpt>` only when the message has exactly one recipient, so Bcc recipients of a
//    multi-recipient message are not disclosed to each other.
//  - Date and Message-ID (RFC 5322 §3.6), on submission only, when the client left them out
//    (RFC 6409 §8.2, §8.3). Mail from other MTAs is not ours to complete.
// Every value that came from the client (EHLO name, reverse DNS) is reduced to printable
// characters, so a header field can never be split or folded by client input.

export interface ReceivedFields {
  readonly helo: string;
  /** Reverse DNS name of the client, when looked up and valid. */
  readonly clientHostname: string | null;
  readonly clientIp: string;
  /** Our name (EHLO name of the listener). */
  readonly byHostname: string;
  readonly tls: { readonly protocol: string; readonly cipher: string } | null;
  readonly authenticated: boolean;
  readonly smtpUtf8: boolean;
  readonly queueId: string;
  /** The only recipient, or null when there are several. */
  readonly recipient: string | null;
  readonly date: Date;
}

/** RFC 3848 / RFC 6531 §3.7.3 "with" protocol name. */
export function protocolName(o: { tls: boolean; authenticated: boolean; smtpUtf8: boolean }): string {
  return `${o.smtpUtf8 ? 'UTF8SMTP' : 'ESMTP'}${o.tls ? 'S' : ''}${o.authenticated ? 'A' : ''}`;
}

/** The Received header field, folded, ending with CRLF. */
export function renderReceived(f: ReceivedFields): string {
  const tcpInfo = f.clientHostname ? `${printable(f.clientHostname)} [${printable(f.clientIp)}]` : `[${printable(f.clientIp)}]`;
  const lines = [`Received: from ${printable(f.helo) || 'unknown'} (${tcpInfo})`];
  const tlsComment = f.tls ? ` (${printable(f.tls.protocol)} cipher ${printable(f.tls.cipher)})` : '';
  lines.push(
    `\tby ${printable(f.byHostname)} (Stafette) with ${protocolName({ tls: f.tls !== null, authenticated: f.authenticated, smtpUtf8: f.smtpUtf8 })}${tlsComment}`,
  );
  lines.push(`\tid ${f.queueId}${f.recipient ? ` for <${printable(f.recipient)}>` : ''};`);
  lines.push(`\t${rfc5322Date(f.date)}`);
  return `${lines.join('\r\n')}\r\n`;
}

export function renderDateField(date: Date): string {
  return `Date: ${rfc5322Date(date)}\r\n`;
}

export function renderMessageIdField(queueId: string, hostname: string): string {
  return `Message-ID: <${queueId}@${printable(hostname)}>\r\n`;
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC: "Sun, 22 Nov 2026 11:22:45 +0000". */
export function rfc5322Date(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

// Keeps visible ASCII and non-ASCII letters (SMTPUTF8 names); control characters, blanks and
// parentheses-breaking bytes cannot reach the header.
function printable(value: string): string {
  return value.replace(/[^\x21-\x7e\u00a0-\uffff]/gu, '?').replace(/[()]/g, '?');
}
