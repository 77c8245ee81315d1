// An SMTP reply as data: code, enhanced status code and text. One shape for everything that
// carries a reply past the SMTP session: a queue refusal (queue/errors.ts), each recipient's
// outcome of a delivery attempt (delivery/attempt.ts), the last replies a deferred job keeps,
// and a DSN's Diagnostic-Code. Replies we choose are built from the named codes (codes.ts);
// replies a remote server sent are parsed (transport/smtp-client-reply.ts) and kept in its
// words, cleaned and capped by replyText; a deferred job caps what it stores the same way
// (capReplyText), so no reply text anywhere is longer than maxReplyTextLength.
import { enhancedCode, type EnhancedSubject, type ReplyCode } from './codes.ts';

export interface Reply {
  readonly code: number;
  /** e.g. "4.4.1" */
  readonly enhanced: string;
  readonly text: string;
}

/** Longest reply text we keep (for a DSN, a deferred job's state or a log line); longer is cut. */
export const maxReplyTextLength = 500;

/** A reply of ours: a named code, the subject of its enhanced code (class from the code), the text. */
export function reply(code: ReplyCode, subject: EnhancedSubject, text: string): Reply {
  return { code, enhanced: enhancedCode(code, subject), text };
}

/** A remote's reply text as we keep it: printable ASCII only, whitespace runs collapsed, capped. */
export function replyText(text: string): string {
  return capReplyText(
    text
      .replace(/[^\x20-\x7e]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/** At most maxReplyTextLength characters; a longer text is cut and ends in "...". */
export function capReplyText(text: string): string {
  return text.length > maxReplyTextLength ? `${text.slice(0, maxReplyTextLength - 3)}...` : text;
}
