// Operator actions on deferred mail (`stafette queue deferred|retry|hold|release|delete`),
// and the numbers metrics need (deferred count, oldest message age).
//
// A deferred message is one schedule on mail.defer.wait.<queueId> in MAILQ_DEFER
// (delivery-streams.ts). Every change re-publishes that schedule with new state: schedules
// roll up per subject, so the new one replaces the old, and the publish is conditional on
// the subject's last sequence being the one read (Nats-Expected-Last-Subject-Sequence), so
// an action never races a schedule that fired meanwhile into two copies.
//
//   retry    → due now (next attempt at once; the attempt counter is kept)
//   hold     → held, due in a year: nothing is attempted until release
//   release  → not held, due now
//   delete   → the schedule is purged, the body object deleted; no DSN (as postsuper -d)
//
// Mail not yet deferred (in MAILQ, being attempted for the first time) is not touched: it is
// either being delivered now or will be within moments.
import { jetstream, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { domainOf } from '../../../bundle/address.ts';
import { isQueueId } from '../queue/queue-id.ts';
import { decodeDeferredJob, encodeDeferredJob, type DeferredJob } from './deferred-job.ts';
import { dueSubject, waitSubject, type DeliveryStreams } from './delivery-streams.ts';
import { describeError } from '../errors.ts';

export interface DeferredFilter {
  /** Only messages with a pending recipient in this domain (case-insensitive). */
  readonly domain?: string;
  /** Only messages with this pending recipient (case-insensitive, exact). */
  readonly recipient?: string;
  /** Only messages accepted at least this long ago. */
  readonly minAgeMs?: number;
}

export interface DeferredEntry {
  readonly seq: number;
  readonly queueId: string;
  readonly sender: string;
  readonly recipients: string[];
  readonly receivedAt: string;
  readonly ageMs: number;
  readonly failedAttempts: number;
  readonly notBefore: string;
  readonly held: boolean;
  readonly lastReplies: DeferredJob['state']['lastReplies'];
}

export interface DeferredStats {
  /** Messages waiting for a retry (held ones included). */
  readonly deferred: number;
  /** Retries that are due and wait for a worker. */
  readonly due: number;
  /** Undecodable jobs kept for a human. */
  readonly deadLetters: number;
  /** Jobs delivered too often, kept for a human (quarantine.ts). */
  readonly quarantined: number;
}

export interface OperationsContext {
  readonly nc: NatsConnection;
  readonly streams: DeliveryStreams;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

/** Pure: does a deferred message match the filter? */
export function matchesFilter(entry: Pick<DeferredEntry, 'recipients' | 'ageMs'>, filter: DeferredFilter): boolean {
  if (filter.domain && !entry.recipients.some((r) => domainOf(r).toLowerCase() === filter.domain!.toLowerCase())) return false;
  if (filter.recipient && !entry.recipients.some((r) => r.toLowerCase() === filter.recipient!.toLowerCase())) return false;
  if (filter.minAgeMs !== undefined && entry.ageMs < filter.minAgeMs) return false;
  return true;
}

export async function deferredStats(ctx: OperationsContext): Promise<DeferredStats> {
  const jsm = await jetstreamManager(ctx.nc);
  const count = async (filter: string) => {
    const info = await jsm.streams.info(ctx.streams.deferStream, { subjects_filter: filter });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  };
  const p = ctx.streams.deferPrefix;
  return {
    deferred: await count(`${p}.wait.>`),
    due: await count(`${p}.due.>`),
    deadLetters: await count(`${p}.dead.>`),
    quarantined: await count(`${p}.quarantine.>`),
  };
}

/** Deferred messages matching `filter`, in stream order, at most `limit`; also the oldest age seen. */
export async function listDeferred(
  ctx: OperationsContext,
  filter: DeferredFilter = {},
  { limit = 100, scanLimit = 100_000 } = {},
): Promise<{ entries: DeferredEntry[]; problems: { seq: number; problem: string }[]; scanned: number; oldestAgeMs: number | null }> {
  const jsm = await jetstreamManager(ctx.nc);
  const now = ctx.now ?? Date.now;
  const entries: DeferredEntry[] = [];
  const problems: { seq: number; problem: string }[] = [];
  let oldestAgeMs: number | null = null;
  let seq = 1;
  let scanned = 0;
  while (scanned < scanLimit) {
    const msg = await jsm.streams.getMessage(ctx.streams.deferStream, { seq, next_by_subj: `${ctx.streams.deferPrefix}.wait.>` } as { seq: number });
    if (msg === null) break;
    seq = msg.seq + 1;
    scanned++;
    let entry: DeferredEntry;
    try {
      entry = toEntry(msg, decodeDeferredJob(msg.data), now());
    } catch (err) {
      problems.push({ seq: msg.seq, problem: describeError(err) });
      continue;
    }
    oldestAgeMs = Math.max(oldestAgeMs ?? 0, entry.ageMs);
    if (entries.length < limit && matchesFilter(entry, filter)) entries.push(entry);
  }
  return { entries, problems, scanned, oldestAgeMs };
}

export async function showDeferred(ctx: OperationsContext, queueId: string): Promise<DeferredEntry | null> {
  const found = await readSchedule(await jetstreamManager(ctx.nc), ctx.streams, queueId);
  return found && toEntry(found.msg, found.job, (ctx.now ?? Date.now)());
}

export type OperationResult = 'done' | 'not-deferred' | 'changed-meanwhile';

/** Makes the next attempt happen now. */
export async function retryNow(ctx: OperationsContext, queueId: string): Promise<OperationResult> {
  return await reschedule(ctx, queueId, (now) => ({ notBefore: now, held: false }));
}

/** Holds a deferred message: no attempt until `release`. */
export async function hold(ctx: OperationsContext, queueId: string): Promise<OperationResult> {
  return await reschedule(ctx, queueId, (now) => ({ notBefore: now + 365 * 24 * 3_600_000, held: true }));
}

export async function release(ctx: OperationsContext, queueId: string): Promise<OperationResult> {
  return await reschedule(ctx, queueId, (now) => ({ notBefore: now, held: false }));
}

/** Removes a deferred message for good (no DSN) and its body object. */
export async function deleteDeferred(ctx: OperationsContext & { bodyStore: ObjectStore }, queueId: string): Promise<OperationResult> {
  const jsm = await jetstreamManager(ctx.nc);
  const found = await readSchedule(jsm, ctx.streams, queueId);
  if (!found) return 'not-deferred';
  await jsm.streams.purge(ctx.streams.deferStream, { filter: waitSubject(ctx.streams, queueId) });
  const { body } = found.job.decoded.record;
  if (body.kind === 'object') await ctx.bodyStore.delete(body.name);
  return 'done';
}

async function reschedule(ctx: OperationsContext, queueId: string, change: (nowMs: number) => { notBefore: number; held: boolean }): Promise<OperationResult> {
  const jsm = await jetstreamManager(ctx.nc);
  const found = await readSchedule(jsm, ctx.streams, queueId);
  if (!found) return 'not-deferred';
  const { notBefore, held } = change((ctx.now ?? Date.now)());
  const { state, decoded } = found.job;
  const payload = encodeDeferredJob({ ...state, notBefore: new Date(notBefore).toISOString(), held }, decoded.record, decoded.inlineBody);
  try {
    await jetstream(ctx.nc).publish(waitSubject(ctx.streams, queueId), payload, {
      schedule: { specification: new Date(notBefore), target: dueSubject(ctx.streams, queueId) },
      expect: { streamName: ctx.streams.deferStream, lastSubjectSequence: found.msg.seq },
    });
  } catch (err) {
    if (err instanceof Error && /wrong last sequence/i.test(err.message)) return 'changed-meanwhile';
    throw err;
  }
  return 'done';
}

async function readSchedule(jsm: JetStreamManager, streams: DeliveryStreams, queueId: string): Promise<{ msg: StoredMsg; job: DeferredJob } | null> {
  // The id becomes part of a subject: only the exact queue-id shape may (no '.', '*', '>').
  if (!isQueueId(queueId)) throw new RangeError(`not a queue id: ${JSON.stringify(queueId)}`);
  const msg = await jsm.streams.getMessage(streams.deferStream, { last_by_subj: waitSubject(streams, queueId) });
  if (msg === null) return null;
  return { msg, job: decodeDeferredJob(msg.data) };
}

function toEntry(msg: StoredMsg, job: DeferredJob, nowMs: number): DeferredEntry {
  const { record } = job.decoded;
  return {
    seq: msg.seq,
    queueId: record.queueId,
    sender: record.envelope.mailFrom.address,
    recipients: record.envelope.rcptTo.map((r) => r.address),
    receivedAt: record.receivedAt,
    ageMs: Math.max(0, nowMs - Date.parse(record.receivedAt)),
    failedAttempts: job.state.failedAttempts,
    notBefore: job.state.notBefore,
    held: job.state.held,
    lastReplies: job.state.lastReplies,
  };
}
