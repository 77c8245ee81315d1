// SMTP replies as outcomes: parsing a server's reply text into a Reply (the remote's words,
// capped and stripped of control characters by replyText, for a DSN's Diagnostic-Code) and
// turning the results of one SMTP/LMTP transaction into one outcome per recipient.
// Pure; the connection code in smtp-client.ts feeds it.
import { C, enhancedStatus, SE } from '../codes.ts';
import type { RecipientOutcome, RecipientStatus } from '../delivery/attempt.ts';
import { reply, replyText, type Reply } from '../reply.ts';

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
  // No enhanced code of the reply's class: the class's undefined status (X.0.0); no reply code at all: 4.5.0.
  if (!enhanced) enhanced = code === 0 ? enhancedStatus(4, SE.Protocol0) : enhancedStatus(Math.floor(code / 100), SE.Other0);
  return { code, enhanced, text: replyText(texts.join(' ')) };
}

/** delivered for 2xx, permanent for 5xx, transient for 4xx and for anything else. */
export function statusOfReply(reply: Reply): RecipientStatus {
  if (reply.code >= 200 && reply.code < 300) return 'delivered';
  if (reply.code >= 500 && reply.code < 600) return 'permanent';
  return 'transient';
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
    const text = result.afterData ? 'Connection lost after the message was sent; delivery will be retried' : 'Connection to the receiving server was lost';
    // After the data went out the server may have taken the message: a retry may duplicate
    // it (the at-least-once window of docs/architecture.md §2 contract 2), never lose it.
    return recipients.map((recipient) => ({
      recipient,
      status: 'transient',
      reply: reply(C.C451LocalError, SE.BadConnection2, text),
      reason: `${remoteMta}: ${result.reason}`,
      remoteMta,
    }));
  }
  return recipients.map((recipient) => {
    const raw = result.mailRefused ?? result.refused.get(recipient) ?? result.perRecipient?.get(recipient) ?? result.final;
    if (raw === undefined) {
      return {
        recipient,
        status: 'transient',
        reply: reply(C.C451LocalError, SE.BadConnection2, 'No reply for this recipient'),
        reason: `${remoteMta}: no reply for ${recipient}`,
        remoteMta,
      };
    }
    const parsed = parseReply(raw);
    const stage = result.mailRefused !== undefined ? 'MAIL FROM' : result.refused.has(recipient) ? 'RCPT TO' : 'DATA';
    if (parsed.code === 0) {
      // Not SMTP (a code 999, no code at all): our own words for the DSN, theirs for the log.
      const invalid = reply(C.C451LocalError, SE.Protocol0, 'Invalid reply from the receiving server');
      return {
        recipient,
        status: 'transient',
        reply: invalid,
        reason: `${remoteMta} answered ${stage} with an invalid reply: ${replyText(raw).slice(0, 200)}`,
        remoteMta,
      };
    }
    const status = statusOfReply(parsed);
    return { recipient, status, reply: parsed, reason: `${remoteMta} answered ${stage} with ${parsed.code} ${parsed.enhanced}`, remoteMta };
  });
}
