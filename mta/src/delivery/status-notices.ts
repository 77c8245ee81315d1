// The delivery status notices one attempt calls for, gathered from the decision (decision.ts)
// and each recipient's outcome with the rules of dsn/notices.ts, in at most three notices
// per attempt (failures, delays, successes), each built by dsn/report.ts. Pure.
import { C, SE } from '../codes.ts';
import { reply } from '../reply.ts';
import type { EnvelopeAddress, QueueRecord } from '../queue/record.ts';
import type { Destination, RecipientOutcome } from './attempt.ts';
import type { Decision } from './decision.ts';
import { noticeFor, type DeliveredVia } from '../dsn/notices.ts';
import { backscatterRisk } from '../dsn/backscatter.ts';
import type { NoticeRecipient } from '../dsn/report.ts';

export type NoticeKind = 'failure' | 'delay' | 'success';

export interface NoticePlan {
  readonly notices: ReadonlyMap<NoticeKind, readonly NoticeRecipient[]>;
  /** Recipients told about a delay, this attempt or before (kept in the retry's state). */
  readonly delayNotified: readonly string[];
  /** Why notices this attempt called for were not sent (dsn/backscatter.ts), or null. */
  readonly suppressed: string | null;
}

export interface NoticeInput {
  readonly record: QueueRecord;
  readonly decision: Decision;
  /** Each envelope recipient's outcome (envelopeOutcome in engine.ts) and the kind of its destination. */
  readonly outcomes: ReadonlyMap<string, { readonly outcome: RecipientOutcome; readonly destination: Destination['kind'] | null }>;
  readonly nowMs: number;
  /** When the message bounces for good (receivedAt + lifetime): Will-Retry-Until. */
  readonly lifetimeEndsMs: number;
  readonly delayAfterMs: number | null;
  readonly delayNotifiedBefore: readonly string[];
  /** Recipients delivered by an earlier attempt (no second success notice). */
  readonly deliveredBefore: ReadonlySet<string>;
}

export function planNotices(input: NoticeInput): NoticePlan {
  const { record, decision } = input;
  const mailFrom = record.envelope.mailFrom.address;
  const receivedAtMs = Date.parse(record.receivedAt);
  const notices = new Map<NoticeKind, NoticeRecipient[]>();
  const push = (kind: NoticeKind, r: NoticeRecipient) => notices.set(kind, [...(notices.get(kind) ?? []), r]);
  const envelopeOf = (address: string): EnvelopeAddress => record.envelope.rcptTo.find((r) => r.address === address) ?? { address, params: [] };

  for (const b of decision.dsn ?? []) {
    push('failure', {
      recipient: b.recipient,
      action: 'failed',
      reply: b.reply,
      expired: b.why === 'expired',
      ...(b.remoteMta ? { remoteMta: b.remoteMta } : {}),
    });
  }
  for (const d of decision.delivered) {
    if (input.deliveredBefore.has(d.recipient)) continue;
    const entry = input.outcomes.get(d.recipient);
    const via: DeliveredVia =
      d.via ?? (entry?.destination === 'forward' ? 'forward' : entry?.destination === 'mx' || entry?.destination === 'relay' ? 'relay-without-dsn' : 'mailbox');
    const action = noticeFor({
      mailFrom,
      recipient: envelopeOf(d.recipient),
      outcome: { status: 'delivered', via },
      receivedAtMs,
      nowMs: input.nowMs,
      delayNotified: false,
      delayAfterMs: null,
    });
    if (action) push('success', { recipient: envelopeOf(d.recipient), action, reply: d.reply, ...(d.remoteMta ? { remoteMta: d.remoteMta } : {}) });
  }
  const delayNotified = new Set(input.delayNotifiedBefore);
  for (const r of decision.retry?.recipients ?? []) {
    const action = noticeFor({
      mailFrom,
      recipient: r,
      outcome: { status: 'transient' },
      receivedAtMs,
      nowMs: input.nowMs,
      delayNotified: delayNotified.has(r.address),
      delayAfterMs: input.delayAfterMs,
    });
    if (action !== 'delayed') continue;
    const last = decision.retry!.lastReplies.find((x) => x.recipient === r.address);
    push('delay', {
      recipient: r,
      action,
      willRetryUntil: new Date(input.lifetimeEndsMs),
      reply: last ? { code: last.code, enhanced: last.enhanced, text: last.text } : reply(C.C451LocalError, SE.Other0, 'Delivery is being retried'),
      ...(last?.remoteMta ? { remoteMta: last.remoteMta } : {}),
    });
    delayNotified.add(r.address);
  }
  const pending = new Set((decision.retry?.recipients ?? []).map((r) => r.address));
  // A likely forged sender gets no notice of any kind (backscatter); nothing was told, so no
  // recipient counts as delay-notified either.
  const risk = backscatterRisk(record);
  if (risk !== null) {
    return { notices: new Map(), delayNotified: input.delayNotifiedBefore.filter((a) => pending.has(a)), suppressed: notices.size > 0 ? risk : null };
  }
  return { notices, delayNotified: [...delayNotified].filter((a) => pending.has(a)), suppressed: null };
}
