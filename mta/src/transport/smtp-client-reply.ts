// SMTP replies as outcomes: parsing a server's reply text into {code, enhanced, text} (the
// remote's words, capped and stripped of control characters, for a DSN's Diagnostic-Code)
// and turning the results of one SMTP/LMTP transaction into one outcome per recipient.
// Pure; the connection code in smtp-client.ts feeds it.
import type { RecipientOutcome, RecipientStatus } from '../delivery/attempt.ts';

export type Reply = RecipientOutcome['reply'];

/** Longest reply text kept for a DSN or a log line; longer texts are cut. */
export const maxReplyTextLength = 512;

/**
 * Parses a reply as nodemailer hands it over: one or more lines "250-..." / "250 ...",
 * joined with "\n". A reply without a valid code (a hostile or broken server: "999 x",
 * "hello") is reported as code 0 so `statusOfReply` calls it transient.
 */
export function parseReply(raw: string): Reply {
  const lines = raw.split(/\r?\n/).filter((l) => l.length > 0);
  const first = lines[0] ?? '';
  const match = /^([2-5]\d\d)(?:[ -]|$)/.exec(first);
  const code = match ? Number(match[1]) : 0;
  let enhanced = '';
  const texts = lines.map((line) => {
    let text = line.replace(/^\d{3}[ -]?/, '');
    const e = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(text);
    if (e) {
      if (!enhanced && code !== 0 && e[1] === String(code)[0]) enhanced = `${e[1]}.${e[2]}.${e[3]}`;
      text = text.slice(e[0].length);
    }
    return text;
  });
  if (!enhanced) enhanced = code === 0 ? '4.5.0' : `${String(code)[0]}.0.0`;
  return { code, enhanced, text: cleanText(texts.join(' ')) };
}

/** delivered for 2xx, permanent for 5xx, transient for 4xx and for anything else. */
export function statusOfReply(reply: Reply): RecipientStatus {
  if (reply.code >= 200 && reply.code < 300) return 'delivered';
  if (reply.code >= 500 && reply.code < 600) return 'permanent';
  return 'transient';
}

/** Printable ASCII only, whitespace runs collapsed, at most maxReplyTextLength characters. */
export function cleanText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > maxReplyTextLength ? `${clean.slice(0, maxReplyTextLength - 3)}...` : clean;
}

/** What one transaction produced, as collected by the client. */
export type TransactionResult =
  /** The transaction ran: per-recipient RCPT (and, for LMTP, per-recipient DATA) replies. */
  | {
      readonly kind: 'replies';
      /** Recipients the server refused at RCPT (or LMTP DATA), with its reply. */
      readonly refused: ReadonlyMap<string, string>;
      /** The reply to MAIL FROM when it was refused: every recipient gets it. */
      readonly mailRefused?: string;
      /** The reply after the data (or to DATA itself) for the recipients not refused. */
      readonly final?: string;
      /** LMTP: each recipient's own reply after the data (RFC 2033 §4.2); wins over `final`. */
      readonly perRecipient?: ReadonlyMap<string, string>;
    }
  /** Nothing definite: the connection broke, timed out, or the deadline passed. */
  | { readonly kind: 'broken'; readonly reason: string; readonly afterData: boolean };

/** One outcome per recipient of a transaction with `remoteMta`. */
export function outcomesOf(recipients: readonly string[], result: TransactionResult, remoteMta: string): RecipientOutcome[] {
  if (result.kind === 'broken') {
    const text = result.afterData
      ? 'Connection lost after the message was sent; delivery will be retried'
      : 'Connection to the receiving server was lost';
    // After the data went out the server may have taken the message: a retry may duplicate
    // it (the at-least-once window of DESIGN.md contract 2), never lose it.
    return recipients.map((recipient) => ({
      recipient, status: 'transient', reply: { code: 451, enhanced: '4.4.2', text }, reason: `${remoteMta}: ${result.reason}`, remoteMta,
    }));
  }
  return recipients.map((recipient) => {
    const raw = result.mailRefused ?? result.refused.get(recipient) ?? result.perRecipient?.get(recipient) ?? result.final;
    if (raw === undefined) {
      return { recipient, status: 'transient', reply: { code: 451, enhanced: '4.4.2', text: 'No reply for this recipient' }, reason: `${remoteMta}: no reply for ${recipient}`, remoteMta };
    }
    const parsed = parseReply(raw);
    const stage = result.mailRefused !== undefined ? 'MAIL FROM' : result.refused.has(recipient) ? 'RCPT TO' : 'DATA';
    if (parsed.code === 0) {
      // Not SMTP (a code 999, no code at all): our own words for the DSN, theirs for the log.
      const reply = { code: 451, enhanced: '4.5.0', text: 'Invalid reply from the receiving server' };
      return { recipient, status: 'transient', reply, reason: `${remoteMta} answered ${stage} with an invalid reply: ${cleanText(raw).slice(0, 200)}`, remoteMta };
    }
    const status = statusOfReply(parsed);
    return { recipient, status, reply: parsed, reason: `${remoteMta} answered ${stage} with ${parsed.code} ${parsed.enhanced}`, remoteMta };
  });
}
