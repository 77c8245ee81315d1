// The delivery engine: one job in, every recipient brought to a final outcome or a durably
// queued retry, then the caller may ack. I/O goes through `JobEffects` (NATS in production,
// nats-effects.ts; in memory in the unit tests), so the order of writes is visible here:
//
//   1. attempt each destination group concurrently; record delivered recipients in the
//      ledger as soon as their group answers (this is what bounds the duplicate window:
//      a crash after a remote 250 and before this write re-sends to those recipients);
//      a failed ledger write is retried here with backoff (0.25 s doubling to 8 s) for up
//      to `ledgerRetryMs` while the worker keeps the job's lease (in-progress acks,
//      worker.ts), not by handing the job back: a redelivery would send the mail again
//      (docs/reliability.md "Limits");
//   2. decide (decision.ts);
//   3. queue the notices, if any (failure, delay, success: status-notices.ts), and wait for their PubAcks;
//   4. queue the retry (the pending recipients and their state), and wait for its PubAck;
//   5. only then report "done": the worker acks the job. A crash anywhere before 5 means
//      redelivery; the ledger skips recipients already delivered, the DSN's queue id and the
//      retry's schedule subject are derived from the job, so repeats are de-duplicated.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadlineSignal } from './deadline-signal.ts';
import { C, SE } from '../codes.ts';
import { describeError } from '../errors.ts';
import { newQueueId } from '../queue/queue-id.ts';
import { reply } from '../reply.ts';
import type { DecodedRecord, EnvelopeAddress, QueueRecord } from '../queue/record.ts';
import type { BodySource, DeliveryAttempt, Destination, RecipientOutcome, Transport } from './attempt.ts';
import { decide, type Decision } from './decision.ts';
import { skippedOutcome, type DestinationHealth } from './destination-health.ts';
import type { DeferredState } from './deferred-job.ts';
import { destinationLabel, type DeliveryObserver } from './delivery-observer.ts';
import { buildNotice, defaultMaxReturned, mailDsnOf, originalHeadBytes } from '../dsn/report.ts';
import { readAll, readPrefix } from '../queue/body-reader.ts';
import { defaultDelayNoticeMs } from '../dsn/notices.ts';
import { planNotices, type NoticeKind } from './status-notices.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { DestinationGroup, RoutedDelivery, Router } from './routing.ts';
import type { Logger } from '../../../observability/logger.ts';
import { bytesPerBodyByte, defaultStreamFromBytes, streamedBodyBytes, type ByteBudget } from './byte-budget.ts';

/** A delivered (envelope recipient, address) pair, as the ledger stores it. */
export type LedgerEntry = RoutedDelivery;

export interface QueuedDsn {
  readonly queueId: string;
  readonly sender: EnvelopeAddress;
  readonly body: Buffer;
  readonly reportingMta: string;
}

export interface JobEffects {
  loadBody(decoded: DecodedRecord): Promise<Uint8Array>;
  /** An Object Store body as a source read as it is sent (queue/body-reader.ts); none: bodies are loaded whole. */
  openBody?(decoded: DecodedRecord): Promise<BodySource>;
  /** The ledger entries already written for this message (only read when they can exist). */
  delivered(queueId: string, pairs: readonly LedgerEntry[]): Promise<Set<string>>;
  recordDelivered(queueId: string, pairs: readonly LedgerEntry[]): Promise<void>;
  /** Enqueues the DSN as a new message (from <>), waiting for the PubAck. */
  queueDsn(dsn: QueuedDsn): Promise<void>;
  /** Schedules the retry job, waiting for the PubAck. */
  deferJob(state: DeferredState, record: QueueRecord, inlineBody: Uint8Array | null): Promise<void>;
}

export interface EngineOptions {
  readonly transport: Transport;
  readonly route: Router;
  readonly effects: JobEffects;
  readonly policy: () => RetryPolicy;
  readonly now: () => number;
  readonly random: () => number;
  readonly randomHex: (bytes: number) => string;
  /** Our host name: Reporting-MTA of DSNs. */
  readonly hostname: string;
  /** One attempt (one destination group) ends after this long; its recipients are transient. */
  readonly attemptTimeoutMs: number;
  readonly logger: Logger;
  readonly observer: DeliveryObserver;
  /** The dead-destination cache (destination-health.ts); none: every job is attempted. */
  readonly health?: DestinationHealth;
  /** A delay notice after this long (default dsn/notices.ts defaultDelayNoticeMs); null: none. */
  readonly delayNoticeAfterMs?: number | null;
  /** How long a failed ledger write after a delivery is retried under the lease (default defaultLedgerRetryMs). */
  readonly ledgerRetryMs?: number;
  /** Bodies held at once, in bytes (byte-budget.ts); none: not limited. */
  readonly bodyBudget?: ByteBudget;
  /**
   * Object Store bodies of at least this many bytes are streamed to the transports that
   * take a stream for every destination of the job (default defaultStreamFromBytes);
   * Infinity: every body is loaded whole.
   */
  readonly streamFromBytes?: number;
}

/** The body of a job during its attempts: whole, or read from the Object Store as it is sent. */
type JobBody = Uint8Array | BodySource;

/** Default for how long the ledger write after a remote 250 is retried before the job is handed back. */
export const defaultLedgerRetryMs = 5 * 60_000;

/** A job as the worker hands it over. */
export interface EngineJob {
  readonly decoded: DecodedRecord;
  /** null for mail fresh from intake. */
  readonly state: DeferredState | null;
  /** True when JetStream delivered this job before (a worker died or lost its lease). */
  readonly redelivered: boolean;
  /** Aborted at shutdown: the engine stops and the worker hands the job back. */
  readonly signal: AbortSignal;
}

export type EngineResult = { readonly kind: 'done'; readonly finished: boolean; readonly decision: Decision | null } | { readonly kind: 'interrupted' };

// Far in the future: a held message waits for `stafette queue release`.
const holdMs = 365 * 24 * 3_600_000;

export function createEngine(opts: EngineOptions): { process(job: EngineJob): Promise<EngineResult> } {
  const { effects, logger, observer } = opts;

  async function recordWithRetry(queueId: string, delivered: readonly LedgerEntry[], signal: AbortSignal, log: Logger): Promise<void> {
    const giveUpAt = opts.now() + (opts.ledgerRetryMs ?? defaultLedgerRetryMs);
    for (let wait = 250; ; wait = Math.min(wait * 2, 8_000)) {
      try {
        await effects.recordDelivered(queueId, delivered);
        return;
      } catch (err) {
        if (signal.aborted || opts.now() + wait > giveUpAt) throw err;
        log.warn('ledger write after a delivery failed; retrying under the lease', { error: describeError(err), retryInMs: wait });
        await sleep(wait, undefined, { signal }).catch(() => {
          throw err;
        });
      }
    }
  }

  async function process(job: EngineJob): Promise<EngineResult> {
    const { record } = job.decoded;
    const log = logger.child({ queueId: record.queueId });
    const now = opts.now();
    if (job.state?.held) {
      await effects.deferJob({ ...job.state, notBefore: iso(now + holdMs) }, record, job.decoded.inlineBody);
      return { kind: 'done', finished: false, decision: null };
    }
    const pending = record.envelope.rcptTo;
    const plan = opts.route(
      record,
      pending.map((r) => r.address),
    );

    // Ledger reads only when entries can exist: a retry, or a job seen before.
    const allPairs = plan.groups.flatMap((g) => g.deliveries);
    const already = job.state !== null || job.redelivered ? await effects.delivered(record.queueId, allPairs) : new Set<string>();
    // The body is read only when something is left to send: a retry whose recipients were
    // all delivered meanwhile (a crash race) must finish even if the body is already gone.
    const toSend = plan.groups.filter((g) => g.deliveries.some((d) => !already.has(pairKey(d))));
    const needsBody = toSend.length > 0;
    // A large stored body is streamed when every destination left takes a stream (remote
    // SMTP, relays and LMTP, but not mail passed on, whose ARC seal needs it whole; maildir,
    // webhooks and forwards take it whole): then the job holds a few chunks per destination,
    // not the body (docs/reliability.md "Limits", streamed delivery).
    const streamed =
      needsBody &&
      effects.openBody !== undefined &&
      record.body.kind === 'object' &&
      record.body.size >= (opts.streamFromBytes ?? defaultStreamFromBytes) &&
      toSend.every((g) => opts.transport.streams?.(g.destination, record) === true);
    const bytes = streamed ? Math.min(record.body.size, streamedBodyBytes) * toSend.length : record.body.size * bytesPerBodyByte;
    // Concurrency sized by bytes: wait for room in the body budget before loading the body.
    const releaseBody = needsBody && opts.bodyBudget ? await opts.bodyBudget.acquire(bytes, job.signal) : () => {};
    try {
      const body: JobBody = !needsBody ? new Uint8Array(0) : streamed ? await effects.openBody!(job.decoded) : await effects.loadBody(job.decoded);
      if (streamed) log.debug('body streamed to the transports', { bytes: record.body.size, destinations: toSend.length });
      return await deliverWith(job, body, plan, already, now, log);
    } finally {
      releaseBody();
    }
  }

  // What a notice returns of the message: a streamed body is read again, whole only when the
  // notice may return it whole (RET=FULL within the cap), else its beginning for the headers.
  async function originalFor(record: QueueRecord, body: JobBody): Promise<{ originalMessage: Uint8Array; originalSize?: number }> {
    if (body instanceof Uint8Array) return { originalMessage: body };
    if (mailDsnOf(record).ret === 'FULL' && body.size <= defaultMaxReturned) return { originalMessage: await readAll(body) };
    return { originalMessage: await readPrefix(body, originalHeadBytes), originalSize: body.size };
  }

  async function deliverWith(
    job: EngineJob,
    body: JobBody,
    plan: ReturnType<EngineOptions['route']>,
    already: Set<string>,
    now: number,
    log: Logger,
  ): Promise<EngineResult> {
    const { record } = job.decoded;
    const pending = record.envelope.rcptTo;

    const outcomes = new Map<string, RecipientOutcome[]>(); // envelope recipient → its deliveries' outcomes
    const labels = new Map<string, string>(); // envelope recipient → a destination label, for metrics
    const kinds = new Map<string, Destination['kind']>(); // envelope recipient → where it went, for notices
    const add = (rcpt: string, o: RecipientOutcome) => outcomes.set(rcpt, [...(outcomes.get(rcpt) ?? []), o]);
    for (const o of plan.unroutable) add(o.recipient, o);

    await Promise.all(
      plan.groups.map(async (group) => {
        const todo = group.deliveries.filter((d) => !already.has(pairKey(d)));
        for (const d of group.deliveries) {
          labels.set(d.envelopeRecipient, destinationLabel(group.destination));
          kinds.set(d.envelopeRecipient, group.destination.kind);
        }
        for (const d of group.deliveries) {
          if (already.has(pairKey(d))) add(d.envelopeRecipient, alreadyDelivered(d.address));
        }
        if (todo.length === 0) return;
        const { outcomes: results, skipped } = await attempt(group, todo, record, body, job.signal, log);
        const byAddress = new Map(results.map((o) => [o.recipient, o]));
        const delivered: LedgerEntry[] = [];
        for (const d of todo) {
          const o = byAddress.get(d.address) ?? missingOutcome(d.address);
          add(d.envelopeRecipient, o);
          if (o.status === 'delivered') delivered.push(d);
        }
        if (delivered.length > 0) {
          const answered = opts.now();
          await recordWithRetry(record.queueId, delivered, job.signal, log);
          observer.ledgerWindow((opts.now() - answered) / 1000);
        }
        if (skipped) observer.recipients(destinationLabel(group.destination), 'skipped', results.length);
        else countByStatus(group.destination, results);
      }),
    );
    if (job.signal.aborted) return { kind: 'interrupted' };

    const envelopeOutcomes = pending.map((r) => envelopeOutcome(r.address, outcomes.get(r.address) ?? []));
    const decision = decide({
      mailFrom: record.envelope.mailFrom,
      recipients: pending,
      outcomes: envelopeOutcomes,
      failedAttemptsBefore: job.state?.failedAttempts ?? 0,
      receivedAtMs: Date.parse(record.receivedAt),
      nowMs: opts.now(),
      policy: opts.policy(),
      random: opts.random,
    });

    const receivedAt = Date.parse(record.receivedAt);
    for (const d of decision.delivered) {
      if (d.reason !== alreadyDeliveredReason) observer.deliveredLatency(Math.max(0, opts.now() - receivedAt) / 1000);
    }
    for (const b of decision.bounced) {
      if (b.why === 'expired') observer.recipients(labels.get(b.recipient.address) ?? 'unroutable', 'expired', 1);
      log.info('recipient bounced', { recipient: b.recipient.address, why: b.why, reply: `${b.reply.code} ${b.reply.enhanced}` });
    }

    const notices = planNotices({
      record,
      decision,
      nowMs: opts.now(),
      lifetimeEndsMs: receivedAt + opts.policy().lifetimeMs,
      outcomes: new Map(envelopeOutcomes.map((o) => [o.recipient, { outcome: o, destination: kinds.get(o.recipient) ?? null }])),
      delayAfterMs: opts.delayNoticeAfterMs === undefined ? defaultDelayNoticeMs : opts.delayNoticeAfterMs,
      delayNotifiedBefore: job.state?.delayNotified ?? [],
      deliveredBefore: new Set(envelopeOutcomes.filter((o) => o.reason === alreadyDeliveredReason).map((o) => o.recipient)),
    });
    for (const [kind, recipients] of notices.notices) {
      const dsnQueueId = dsnId(record.queueId, job.state?.failedAttempts ?? 0, receivedAt, kind);
      const original = await originalFor(record, body);
      await effects.queueDsn({
        queueId: dsnQueueId,
        sender: record.envelope.mailFrom,
        reportingMta: opts.hostname,
        body: buildNotice({
          record,
          ...original,
          recipients,
          reportingMta: opts.hostname,
          dsnQueueId,
          now: new Date(opts.now()),
          randomHex: opts.randomHex,
        }),
      });
      observer.dsn(kind === 'failure' ? 'queued' : kind === 'delay' ? 'queued_delay' : 'queued_success');
      log.info(`${kind} notice queued`, { dsnQueueId, recipients: recipients.map((r) => `${r.recipient.address}:${r.action}`) });
    }
    if (notices.suppressed !== null) {
      observer.dsn('dropped_backscatter');
      log.warn('notice to a likely forged sender dropped (backscatter)', {
        sender: record.envelope.mailFrom.address,
        senderAuth: notices.suppressed,
        bounced: decision.bounced.length,
      });
    }
    if (decision.dsnSuppressed === 'null-sender') {
      observer.dsn('dropped_null_sender');
      log.warn('bounce of a message from <> dropped (no double bounces)', { recipients: decision.bounced.length });
    }

    if (decision.retry) {
      const pendingSet = new Set(decision.retry.recipients.map((r) => r.address));
      const rest: QueueRecord = {
        ...record,
        envelope: { ...record.envelope, rcptTo: record.envelope.rcptTo.filter((r) => pendingSet.has(r.address)) },
      };
      const attemptAt = iso(now);
      await effects.deferJob(
        {
          v: 1,
          failedAttempts: decision.retry.failedAttempts,
          firstAttemptAt: job.state?.firstAttemptAt ?? attemptAt,
          lastAttemptAt: attemptAt,
          notBefore: iso(decision.retry.notBeforeMs),
          held: false,
          lastReplies: decision.retry.lastReplies,
          ...(notices.delayNotified.length > 0 ? { delayNotified: [...notices.delayNotified] } : {}),
        },
        rest,
        job.decoded.inlineBody,
      );
      log.info('deferred', {
        recipients: decision.retry.recipients.length,
        failedAttempts: decision.retry.failedAttempts,
        notBefore: iso(decision.retry.notBeforeMs),
      });
    }
    return { kind: 'done', finished: decision.retry === null, decision };
  }

  // One destination group through the transport, bounded in time. The transport should
  // honour the signal; if it does not return in time anyway, its recipients are transient.
  async function attempt(
    group: DestinationGroup,
    todo: readonly RoutedDelivery[],
    record: QueueRecord,
    body: JobBody,
    shutdown: AbortSignal,
    log: Logger,
  ): Promise<{ outcomes: RecipientOutcome[]; skipped: boolean }> {
    const recipients = [...new Set(todo.map((d) => d.address))];
    const started = opts.now();
    const down = opts.health?.down(group.key, started);
    if (down) {
      log.debug('destination down; deferred without an attempt', { destination: group.key, until: iso(down.untilMs) });
      return { outcomes: recipients.map((r) => skippedOutcome(r, down.reason)), skipped: true };
    }
    const deadline = deadlineSignal(shutdown, opts.attemptTimeoutMs);
    const request: DeliveryAttempt = {
      record,
      body: body instanceof Uint8Array ? Buffer.from(body) : body,
      destination: group.destination,
      recipients,
      signal: deadline.signal,
    };
    let outcomes: RecipientOutcome[];
    try {
      outcomes = await raceAbort(opts.transport.deliver(request), deadline.signal, opts.attemptTimeoutMs + 5_000);
      log.debug('attempt finished', { destination: group.key, ms: opts.now() - started, outcomes: outcomes.map((o) => `${o.recipient}:${o.reply.code}`) });
    } catch (err) {
      const why = deadline.signal.aborted ? 'no answer within the attempt deadline' : `transport error: ${describeError(err)}`;
      log.warn('attempt failed', { destination: group.key, reason: why });
      outcomes = recipients.map((r) => ({
        recipient: r,
        status: 'transient',
        reason: why,
        reply: reply(C.C451LocalError, SE.NoAnswer1, 'No answer from the destination in time'),
      }));
    } finally {
      deadline.dispose();
    }
    // A shutdown abort says nothing about the destination.
    if (!shutdown.aborted) opts.health?.report(group.key, outcomes, opts.now());
    return { outcomes, skipped: false };
  }

  function countByStatus(destination: Destination, results: readonly RecipientOutcome[]): void {
    const label = destinationLabel(destination);
    const n = { delivered: 0, transient: 0, permanent: 0 };
    for (const o of results) n[o.status]++;
    if (n.delivered) observer.recipients(label, 'delivered', n.delivered);
    if (n.transient) observer.recipients(label, 'deferred', n.transient);
    if (n.permanent) observer.recipients(label, 'bounced', n.permanent);
  }

  return { process };
}

/** The ledger key of a delivery: one per (envelope recipient, address) pair. */
export function pairKey(d: LedgerEntry): string {
  return createHash('sha256').update(d.envelopeRecipient).update('\0').update(d.address).digest('hex').slice(0, 32);
}

/**
 * The queue id of the DSN for attempt `attempt` of message `queueId`: the same on every
 * redelivery of that job, so publishing it again is de-duplicated by Nats-Msg-Id.
 */
export function dsnId(queueId: string, attempt: number, receivedAtMs: number, kind: NoticeKind = 'failure'): string {
  // Failure notices keep the seed they always had; the other kinds get their own.
  const seed = createHash('sha256')
    .update(kind === 'failure' ? `${queueId}:dsn:${attempt}` : `${queueId}:${kind}:${attempt}`)
    .digest();
  return newQueueId(receivedAtMs + attempt, () => seed.subarray(0, 10));
}

const alreadyDeliveredReason = 'delivered by an earlier attempt (ledger)';

function alreadyDelivered(address: string): RecipientOutcome {
  return { recipient: address, status: 'delivered', reason: alreadyDeliveredReason, reply: reply(C.C250OK, SE.Other0, 'Delivered earlier') };
}

function missingOutcome(address: string): RecipientOutcome {
  return {
    recipient: address,
    status: 'transient',
    reason: 'the transport reported no outcome for this recipient',
    reply: reply(C.C451LocalError, SE.MailSystem0, 'No outcome reported'),
  };
}

// An envelope recipient fans out to one or more deliveries (an alias): it is done when all
// are delivered; any transient one makes it retry (the delivered ones are in the ledger and
// are not sent again); else the first permanent one bounces it.
function envelopeOutcome(recipient: string, results: readonly RecipientOutcome[]): RecipientOutcome {
  if (results.length === 0) return { ...missingOutcome(recipient), reason: 'no route produced a delivery' };
  const pick = results.find((o) => o.status === 'transient') ?? results.find((o) => o.status === 'permanent') ?? results[0]!;
  return { ...pick, recipient };
}

async function raceAbort<T>(work: Promise<T>, signal: AbortSignal, hardMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('transport ignored its deadline')), hardMs);
    signal.addEventListener('abort', () => setTimeout(() => reject(new Error('aborted')), 1_000).unref(), { once: true });
  });
  try {
    return await Promise.race([work, hard]);
  } finally {
    clearTimeout(timer);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
