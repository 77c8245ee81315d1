// The named rejections of the intake policy: one constructor per rule, so the reply code,
// enhanced code, client sentence and metrics label of a rule live in one place. Client
// sentences name the rule, not the mechanism (maddy exterrors): no bundle, no NATS.
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';
import { reply, type Reply } from '../reply.ts';
import type { BoundedWorkProblem } from '../directory.ts';

/** RCPT for one of our domains that matches no mailbox, alias, subaddress or catch-all (RFC 5321 §3.3). */
export function unknownRecipient(address: string): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.BadDestMailbox1,
    rule: 'unknown_recipient',
    clientMessage: 'Recipient address rejected: no such user here',
    reason: `no mailbox, alias or catch-all for ${address}`,
  });
}

/** RCPT for a domain we do not serve, from a client that may not relay. */
export function relayDenied(address: string, why: string): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.NotAuthorized1,
    rule: 'relay_denied',
    clientMessage: 'Relaying denied',
    reason: `relay to ${address} refused: ${why}`,
  });
}

/** A recipient path that is not local@domain once normalised. */
export function badRecipientSyntax(raw: string): SmtpError {
  return new SmtpError({
    code: C.C501BadParamSyntax,
    subject: SE.BadDestSyntax3,
    rule: 'bad_recipient_syntax',
    clientMessage: 'Bad recipient address syntax',
    reason: `recipient ${JSON.stringify(raw)} is not a valid address`,
  });
}

/** A sender path that is not local@domain (and not the null sender) once normalised. */
export function badSenderSyntax(raw: string): SmtpError {
  return new SmtpError({
    code: C.C501BadParamSyntax,
    subject: SE.BadSenderSyntax7,
    rule: 'bad_sender_syntax',
    clientMessage: 'Bad sender address syntax',
    reason: `sender ${JSON.stringify(raw)} is not a valid address`,
  });
}

/** An authenticated user used a MAIL FROM outside its own address, aliases and sendAs (RFC 6409 §6.1). */
export function senderNotOwned(user: string, sender: string): SmtpError {
  return new SmtpError({
    code: C.C553BadMailbox,
    subject: SE.NotAuthorized1,
    rule: 'sender_not_owned',
    clientMessage: 'Sender address not owned by the authenticated user',
    reason: `${user} may not send as ${JSON.stringify(sender)}`,
  });
}

/** SIZE= at MAIL/RCPT or the real size after DATA is over the limit (RFC 1870 §6). */
export function messageTooBig(size: number | null, limit: number, when: 'declared' | 'received'): SmtpError {
  return new SmtpError({
    code: C.C552MailboxFull,
    subject: SE.MsgTooBig4,
    rule: 'message_too_big',
    clientMessage: `Message size exceeds the limit of ${limit} bytes`,
    reason: `${when} size ${size ?? `over ${limit}`} exceeds ${limit}`,
  });
}

/** One RCPT more than a message may have: 452, not 552 (RFC 5321 §4.5.3.1.10). */
export function tooManyRecipients(limit: number): SmtpError {
  return new SmtpError({
    code: C.C452StorageFull,
    subject: SE.TooManyRecipients3,
    rule: 'too_many_recipients',
    clientMessage: `Too many recipients, at most ${limit} per message`,
    reason: `recipient limit ${limit} reached`,
  });
}

/**
 * A line of the message is longer than allowed (RFC 5322 §2.1.1: 998 octets; we take up to the
 * listener's maxLineLength unchanged). A content refusal, 554 5.6.0, not the command-syntax
 * 500 5.5.2 a sending MTA reads as a protocol error (docs/reliability.md §1).
 */
export function lineTooLong(length: number, limit: number): SmtpError {
  return new SmtpError({
    code: C.C554TransactionFailed,
    subject: SE.MediaError0,
    rule: 'line_too_long',
    clientMessage: `Message has a line longer than ${limit} octets`,
    reason: `longest line ${length} octets, limit ${limit}`,
  });
}

/** The header section alone is over the limit (Postfix header_size_limit). */
export function headerTooBig(size: number, limit: number): SmtpError {
  return new SmtpError({
    code: C.C552MailboxFull,
    subject: SE.MsgTooBig4,
    rule: 'header_too_big',
    clientMessage: `Message header exceeds the limit of ${limit} bytes`,
    reason: `header section ${size} bytes, limit ${limit}`,
  });
}

/** Too many Received headers: the message is looping (RFC 5321 §6.3; Postfix hopcount_limit). */
export function mailLoop(hops: number, limit: number): SmtpError {
  return new SmtpError({
    code: C.C554TransactionFailed,
    subject: SE.RoutingLoop6,
    rule: 'mail_loop',
    clientMessage: 'Too many hops, mail loop detected',
    reason: `${hops} Received headers, limit ${limit}`,
  });
}

/** A client has more connections open than allowed per IP address. */
export function tooManyConnections(ip: string, limit: number): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.Security0,
    rule: 'too_many_connections',
    clientMessage: 'Too many connections from your address, try again later',
    reason: `${ip} has ${limit} connections open already`,
  });
}

/** AUTH with a wrong password or an unknown user; the client cannot tell which (RFC 4954 §6). */
export function authFailed(user: string, why: string): SmtpError {
  return new SmtpError({
    code: C.C535AuthBadCreds,
    subject: SE.BadCredentials8,
    rule: 'auth_failed',
    clientMessage: 'Authentication credentials invalid',
    reason: `AUTH as ${JSON.stringify(user)} failed: ${why}`,
  });
}

/** Too many failed AUTH attempts in one session: close it (chasquid auth_too_many_failures). */
export function tooManyAuthFailures(limit: number): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.Security0,
    rule: 'auth_too_many_failures',
    clientMessage: 'Too many authentication failures, closing connection',
    reason: `${limit} failed AUTH attempts in one session`,
  });
}

/** Anything that failed on our side while storing: the client keeps the mail and retries (RFC 5321 §4.2.5). */
export function localError(reason: string, cause?: unknown): SmtpError {
  return new SmtpError({
    code: C.C451LocalError,
    subject: SE.MailSystem0,
    rule: 'local_error',
    clientMessage: 'Temporary local problem, please try again later',
    reason,
    cause,
  });
}

/** A MAIL or RCPT parameter we did not announce (RFC 5321 §4.1.1.11: 555). */
export function unknownParameter(command: 'MAIL' | 'RCPT', name: string): SmtpError {
  return new SmtpError({
    code: C.C555UnrecognizedParams,
    subject: SE.InvalidParams4,
    rule: 'unknown_parameter',
    clientMessage: `${command} parameter ${name.replace(/[^A-Z0-9-]/gi, '?').slice(0, 32)} not supported`,
    reason: `${command} with parameter ${JSON.stringify(name)}, which we do not announce`,
  });
}

/** We cannot serve a session now (no configuration): the client should come back later (RFC 5321 §3.8). */
export function serviceUnavailable(reason: string, cause?: unknown): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.MailSystem0,
    rule: 'service_unavailable',
    clientMessage: 'Service not available, try again later',
    reason,
    cause,
  });
}

/** The client address is on a DNS blocklist (docs/spam-checks.md §1): 554 5.7.1 with the list's reason. */
export function clientBlocklisted(ip: string, zone: string, text: string): SmtpError {
  return new SmtpError({
    code: C.C554TransactionFailed,
    subject: SE.NotAuthorized1,
    rule: 'dnsbl_listed',
    clientMessage: `Client host [${ip}] blocked using ${zone}${text ? `; ${text}` : ''}`,
    reason: `client ${ip} listed in ${zone}${text ? `: ${text}` : ''}`,
  });
}

/** The spam filter scored the message over the reject threshold (docs/spam-checks.md §2). */
export function spamRejected(score: number, threshold: number): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.NotAuthorized1,
    rule: 'spam_rejected',
    clientMessage: 'Message rejected as spam',
    reason: `spam score ${score} at or over the reject threshold ${threshold}`,
  });
}

/** The spam filter could not be asked and the configuration says to defer (docs/spam-checks.md §2). */
export function spamCheckUnavailable(cause: unknown): SmtpError {
  return new SmtpError({
    code: C.C451LocalError,
    subject: SE.NotAuthorized1,
    rule: 'spam_check_unavailable',
    clientMessage: 'Message could not be checked for spam now, try again later',
    reason: 'the spam filter did not answer',
    cause,
  });
}

/** A submitted message whose From or Sender header names an address the login may not use (docs/trust-model.md). */
export function headerSenderNotOwned(user: string, field: string, address: string): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.NotAuthorized1,
    rule: 'header_sender_not_owned',
    clientMessage: `${field} header address not owned by the authenticated user`,
    reason: `${user} may not use ${JSON.stringify(address)} in the ${field} header`,
  });
}

/** One refused RCPT more than a session may have (directory harvesting): 421 and close. */
export function tooManyFailedRecipients(limit: number): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.Security0,
    rule: 'too_many_failed_recipients',
    clientMessage: 'Too many refused recipients, closing connection',
    reason: `${limit} recipients refused in this session`,
  });
}

/** One error reply more than a session may have (Postfix smtpd_hard_error_limit): 421 and close. */
export function tooManyErrors(limit: number): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.Security0,
    rule: 'too_many_errors',
    clientMessage: 'Too many errors, closing connection',
    reason: `${limit} error replies in this session`,
  });
}

/** The session ran past its deadline, or DATA arrived slower than the minimum rate: 421 and close. */
export function sessionTooSlow(rule: 'session_deadline' | 'data_too_slow', reason: string): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.BadConnection2,
    rule,
    clientMessage: rule === 'session_deadline' ? 'Session time limit reached, closing connection' : 'Data arriving too slowly, closing connection',
    reason,
  });
}

/** The authenticated user was deleted, lost its login, or had its password changed since AUTH. */
export function loginRevoked(user: string, why: string): SmtpError {
  return new SmtpError({
    code: C.C530AuthRequired,
    subject: SE.Security0,
    rule: 'login_revoked',
    clientMessage: 'Authentication no longer valid, please log in again',
    reason: `${user}: ${why}`,
  });
}

/** An address whose alias expansion loops, is too deep or has too many targets (mta/src/directory.ts expand). */
export function expansionRefused(address: string, problem: BoundedWorkProblem, detail: string): SmtpError {
  return new SmtpError({
    code: C.C550MailboxUnavailable,
    subject: SE.RoutingLoop6,
    rule: 'alias_expansion',
    clientMessage: expansionWords[problem],
    reason: detail || `alias expansion of ${address}: ${problem}`,
  });
}

/** The reply for an expansion over its bounds, as a delivery outcome (routing) or at RCPT (intake). */
export function expansionRefusal(problem: BoundedWorkProblem): Reply {
  return reply(C.C550MailboxUnavailable, SE.RoutingLoop6, expansionWords[problem]);
}

const expansionWords = {
  loop: 'Routing loop detected',
  'too-deep': 'Routing loop detected: alias chain too deep',
  'too-many': 'Alias expands to too many recipients',
} as const;

/** MAIL while the queue's store is near full (queue/store-pressure.ts): 452 4.3.1, try later (RFC 5321 §4.5.3.1.10). */
export function storeNearFull(): SmtpError {
  return new SmtpError({
    code: C.C452StorageFull,
    subject: SE.MailSystemFull1,
    rule: 'store_near_full',
    clientMessage: 'Insufficient system storage, please try again later',
    reason: 'the queue store is near full (docs/reliability.md "Limits")',
  });
}

/** MAIL with a SIZE= that does not fit, or DATA that ran out of the process's memory budget (smtp/memory-budget.ts): 451 4.3.2. */
export function memoryBudgetExceeded(reason: string): SmtpError {
  return new SmtpError({
    code: C.C451LocalError,
    subject: SE.NotAccepting2,
    rule: 'memory_budget',
    clientMessage: 'Too much mail in progress, please try again later',
    reason,
  });
}
