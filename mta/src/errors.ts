// SmtpError: a refusal the SMTP intake sends to a client (maddy's exterrors.SMTPError, mox's
// smtpError). It keeps two texts apart:
//  - `clientMessage`: the sentence the client sees. It names the rule ("Recipient address
//    rejected") but never internals (no policy mechanism, no NATS, no stack).
//  - `reason` (+ `cause`): the detailed account for the log.
// `rule` is a short, low-cardinality name (unknown_recipient, relay_denied, ...) used as the
// metrics label and in the log, so every rejection can be counted and found.
//
// smtp-server turns an error passed to a handler callback into a reply with
// `err.responseCode` and `err.message`; SmtpError therefore sets `message` to
// "<enhanced> <clientMessage>", and mta/src/smtp/smtp-server-overrides.ts keeps smtp-server from
// prefixing a second enhanced code of its own.
import { enhancedCode, type EnhancedSubject, type ReplyCode } from './codes.ts';
import type { Reply } from './reply.ts';

export interface SmtpErrorOptions {
  readonly code: ReplyCode;
  readonly subject: EnhancedSubject;
  /** Low-cardinality rule name for logs and metrics. */
  readonly rule: string;
  /** What the client is told. */
  readonly clientMessage: string;
  /** What the log says; defaults to the client message. */
  readonly reason?: string;
  readonly cause?: unknown;
}

export class SmtpError extends Error {
  readonly code: ReplyCode;
  /** e.g. "5.1.1" */
  readonly enhanced: string;
  readonly rule: string;
  readonly clientMessage: string;
  readonly reason: string;
  /** What smtp-server reads to choose the reply code. */
  readonly responseCode: number;

  constructor(opts: SmtpErrorOptions) {
    const enhanced = enhancedCode(opts.code, opts.subject);
    super(`${enhanced} ${opts.clientMessage}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SmtpError';
    this.code = opts.code;
    this.enhanced = enhanced;
    this.rule = opts.rule;
    this.clientMessage = opts.clientMessage;
    this.reason = opts.reason ?? opts.clientMessage;
    this.responseCode = opts.code;
  }

  /** 4xx: the client should try again later (maddy's Temporary()). */
  temporary(): boolean {
    return Math.floor(this.code / 100) === 4;
  }

  /** The reply line as sent, without CRLF: "550 5.1.1 Recipient address rejected". */
  replyLine(): string {
    return `${this.code} ${this.enhanced} ${this.clientMessage}`;
  }

  /** The reply as data, e.g. for a recipient routing refuses at delivery (delivery/routing.ts). */
  reply(): Reply {
    return { code: this.code, enhanced: this.enhanced, text: this.clientMessage };
  }

  /** Fields for a structured log line. */
  logFields(): Record<string, unknown> {
    return { rule: this.rule, reply: this.replyLine(), reason: this.reason, ...(this.cause === undefined ? {} : { cause: this.cause }) };
  }
}

export function isSmtpError(err: unknown): err is SmtpError {
  return err instanceof SmtpError;
}

/**
 * An error in a few words for a log line or a reason: a system error by its code (EACCES,
 * ESERVFAIL: short and stable, no paths), anything else by its message.
 */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  return err instanceof Error ? err.message : String(err);
}
