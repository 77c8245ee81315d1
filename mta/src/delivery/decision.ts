// What to do with a job after an attempt: the one place where per-recipient outcomes become
// decisions. Pure: outcomes, the job's retry state, the policy, the time and randomness in;
// a plan out, which the engine carries out in a fixed order (engine.ts).
//
//   delivered (2xx)                       → done; recorded so no later retry sends again
//   permanent (5xx)                       → bounce now
//   transient (4xx, timeout, DNS, ...)    → retry at the next scheduled time, with jitter
//   transient after the lifetime          → bounce ("delivery time expired")
//
// A bounce becomes one DSN per attempt, to the envelope sender, listing every bounced
// recipient that asked for failure notices (RFC 3461 NOTIFY; none given means yes). Never to
// the null sender <>: that would be a bounce of a bounce, which is dropped (RFC 5321 §4.5.5).
import { C, SE } from '../codes.ts';
import type { EnvelopeAddress } from '../queue/record.ts';
import { reply, type Reply } from '../reply.ts';
import type { RecipientOutcome } from './attempt.ts';
import { nextAttemptAtMs, type RetryPolicy } from './retry-policy.ts';

/** A recipient's reply in the latest attempt, as a deferred job keeps it (deferred-job.ts). */
export interface LastReply extends Reply {
  readonly recipient: string;
  readonly remoteMta?: string;
}

export interface BouncedRecipient {
  readonly recipient: EnvelopeAddress;
  readonly reply: Reply;
  readonly remoteMta?: string;
  /** permanent: a 5xx (or our own permanent verdict); expired: still failing after the lifetime. */
  readonly why: 'permanent' | 'expired';
}

export interface RetryPlan {
  readonly recipients: readonly EnvelopeAddress[];
  /** Attempts made so far, all failed for these recipients (this one included). */
  readonly failedAttempts: number;
  readonly notBeforeMs: number;
  readonly lastReplies: readonly LastReply[];
}

export interface Decision {
  readonly delivered: readonly RecipientOutcome[];
  readonly bounced: readonly BouncedRecipient[];
  readonly retry: RetryPlan | null;
  /** The recipients to report in a DSN, or null when no DSN goes out. */
  readonly dsn: readonly BouncedRecipient[] | null;
  /** Set when bounces happened but no DSN may be sent. */
  readonly dsnSuppressed: 'null-sender' | 'notify-never' | null;
}

export interface DecisionInput {
  readonly mailFrom: EnvelopeAddress;
  /** The recipients this attempt was for, in envelope order. */
  readonly recipients: readonly EnvelopeAddress[];
  /** At most one outcome per recipient; a recipient without one counts as transient. */
  readonly outcomes: readonly RecipientOutcome[];
  /** Failed attempts before this one (0 for mail fresh from intake). */
  readonly failedAttemptsBefore: number;
  readonly receivedAtMs: number;
  readonly nowMs: number;
  readonly policy: RetryPolicy;
  readonly random: () => number;
}

// What a recipient the transport forgot to report on is retried with (never delivered, never bounced).
const noOutcome = reply(C.C451LocalError, SE.Network0, 'No outcome reported for this recipient');

export function decide(input: DecisionInput): Decision {
  const byRecipient = new Map(input.outcomes.map((o) => [o.recipient, o]));
  const delivered: RecipientOutcome[] = [];
  const bounced: BouncedRecipient[] = [];
  const transient: { recipient: EnvelopeAddress; outcome: RecipientOutcome | null }[] = [];
  for (const recipient of input.recipients) {
    const outcome = byRecipient.get(recipient.address) ?? null;
    if (outcome?.status === 'delivered') delivered.push(outcome);
    else if (outcome?.status === 'permanent') {
      bounced.push({ recipient, reply: outcome.reply, ...remote(outcome), why: 'permanent' });
    } else transient.push({ recipient, outcome });
  }

  let retry: RetryPlan | null = null;
  if (transient.length > 0) {
    const failedAttempts = input.failedAttemptsBefore + 1;
    const next = nextAttemptAtMs(input.policy, input.receivedAtMs, failedAttempts, input.nowMs, input.random);
    if (next === null) {
      for (const { recipient, outcome } of transient) {
        bounced.push({ recipient, reply: expiredReply(outcome), ...remote(outcome), why: 'expired' });
      }
    } else {
      retry = {
        recipients: transient.map((t) => t.recipient),
        failedAttempts,
        notBeforeMs: next,
        lastReplies: transient.map(({ recipient, outcome }) => ({
          recipient: recipient.address,
          ...(outcome?.reply ?? noOutcome),
          ...remote(outcome),
        })),
      };
    }
  }

  let dsn: BouncedRecipient[] | null = null;
  let dsnSuppressed: Decision['dsnSuppressed'] = null;
  if (bounced.length > 0) {
    const wanted = bounced.filter((b) => wantsFailureNotice(b.recipient));
    if (input.mailFrom.address === '') dsnSuppressed = 'null-sender';
    else if (wanted.length === 0) dsnSuppressed = 'notify-never';
    else dsn = wanted;
  }
  return { delivered, bounced, retry, dsn, dsnSuppressed };
}

/** RFC 3461 §4.1: NOTIFY=NEVER, or a NOTIFY list without FAILURE, asks for no failure DSN. */
export function wantsFailureNotice(recipient: EnvelopeAddress): boolean {
  const notify = recipient.params.find((p) => p.name.toUpperCase() === 'NOTIFY');
  if (!notify || notify.value === null) return true;
  return notify.value
    .toUpperCase()
    .split(',')
    .map((s) => s.trim())
    .includes('FAILURE');
}

// An expired recipient keeps the last words of the remote side; a 4xx stays a 4.x.x status
// (as Postfix reports it: Action failed, Status 4.4.1), a missing one becomes 4.4.7.
function expiredReply(outcome: RecipientOutcome | null): BouncedRecipient['reply'] {
  if (outcome) return outcome.reply;
  return reply(C.C451LocalError, SE.DeliveryExpired7, 'Delivery time expired');
}

function remote(outcome: RecipientOutcome | null): { remoteMta?: string } {
  return outcome?.remoteMta ? { remoteMta: outcome.remoteMta } : {};
}
