// Limits every MTA pod shares (issue 14 item 3, docs/reliability.md §1): counted in one
// JetStream KV bucket (queue/shared-counters.ts), so three pods behind one Service allow what
// one pod would. Fixed windows: a count per key per window (one key each, expiring with the
// bucket's TTL); a client over the limit waits for the next window, that is the backoff.
//
//   AUTH failures per client (/64 for IPv6) and per account in `authWindowMs`: at the limit AUTH
//   answers 454 4.7.0 without checking the password (no scrypt spent); a client at twice the
//   limit gets 421 4.7.0 at connect on submission listeners.
//   connections per client per minute (421 4.7.0 at connect), messages per client per minute
//   (451 4.7.0 at MAIL), messages and recipients per authenticated user per hour (451 4.7.0 at
//   MAIL / RCPT). Messages and recipients are counted as they are asked for (MAIL, RCPT).
//   scrypt verifications at once per pod (smtp/scrypt-gate.ts): a semaphore, not shared.
// If the bucket cannot be read the limit is not applied (logged): an unreachable NATS already
// refuses mail with 451 at the publish, and AUTH must keep working for the mail already queued.
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';

export interface SharedLimitSettings {
  readonly authFailuresPerIp: number;
  readonly authFailuresPerAccount: number;
  readonly authWindowMs: number;
  readonly connectionsPerIpPerMinute: number;
  readonly messagesPerIpPerMinute: number;
  readonly messagesPerUserPerHour: number;
  readonly recipientsPerUserPerHour: number;
  /** scrypt verifications running at once in one pod; more wait (at most `scryptQueue`), then 454 4.7.0. */
  readonly scryptConcurrency: number;
  readonly scryptQueue: number;
}

export const defaultSharedLimits: SharedLimitSettings = {
  authFailuresPerIp: 10,
  authFailuresPerAccount: 10,
  authWindowMs: 15 * 60_000,
  connectionsPerIpPerMinute: 120,
  messagesPerIpPerMinute: 600,
  messagesPerUserPerHour: 1000,
  recipientsPerUserPerHour: 5000,
  scryptConcurrency: 2,
  scryptQueue: 64,
};

export const minuteMs = 60_000;
export const hourMs = 3_600_000;

/** The counter names: what is counted, for whom. */
export type CounterKind = 'auth-ip' | 'auth-user' | 'conn-ip' | 'msg-ip' | 'msg-user' | 'rcpt-user';

/** AUTH refused before the password is looked at: too many failures from this client or for this account. */
export function authBlocked(kind: 'auth-ip' | 'auth-user', limit: number): SmtpError {
  return new SmtpError({
    code: C.C454TempAuthFailure,
    subject: SE.Security0,
    rule: kind === 'auth-ip' ? 'auth_failures_ip' : 'auth_failures_account',
    clientMessage: 'Too many failed logins, try again later',
    reason: `${limit} failed logins ${kind === 'auth-ip' ? 'from this client' : 'for this account'} in the window`,
  });
}

/** AUTH refused because this pod is verifying as many passwords as it may at once. */
export function authBusy(): SmtpError {
  return new SmtpError({
    code: C.C454TempAuthFailure,
    subject: SE.Security0,
    rule: 'auth_busy',
    clientMessage: 'Temporary authentication failure, try again later',
    reason: 'the scrypt queue is full',
  });
}

/** A rate over its shared limit: 421 at connect, 451 at MAIL and RCPT. */
export function rateLimited(kind: Exclude<CounterKind, 'auth-user'>, limit: number): SmtpError {
  const atConnect = kind === 'conn-ip' || kind === 'auth-ip';
  const what: Record<typeof kind, string> = {
    'auth-ip': 'failed logins from your address',
    'conn-ip': 'connections from your address',
    'msg-ip': 'messages from your address',
    'msg-user': 'messages for this login',
    'rcpt-user': 'recipients for this login',
  };
  return new SmtpError({
    code: atConnect ? C.C421ServiceUnavailable : C.C451LocalError,
    subject: SE.Security0,
    rule: `rate_${kind.replace('-', '_')}`,
    clientMessage: `Too many ${what[kind]}, try again later`,
    reason: `${kind} over ${limit} in the window`,
  });
}
