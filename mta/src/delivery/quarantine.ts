// Quarantined jobs (`stafette queue quarantine list|show|release`): a job JetStream delivered
// more than --max-deliveries times without a worker settling it (a record that makes the engine
// throw, a write that fails every time) is copied by the worker (worker.ts) to
// mail.defer.quarantine.<source>-<seq> in MAILQ_DEFER, with the subject it came from, and
// acked; nothing consumes it, so it stops costing attempts (docs/reliability.md "Limits").
//
//   list     every quarantined job, its reason and (when it decodes) its envelope
//   show     one, by tag
//   release  re-published to the subject it came from (a fresh delivery count), then purged
//
// The alert: stafette_delivery_jobs_total{result="quarantined"} counts them as they happen,
// stafette_delivery_quarantined_jobs is how many wait (polled at scrape, delivery-metrics.ts).
import { jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { quarantineHeaders } from '../queue/deferred-names.ts';
import { decodeRecord, type DecodedRecord } from '../queue/record.ts';
import { decodeDeferredJob } from './deferred-job.ts';
import { quarantineSubject, type DeliveryStreams } from './delivery-streams.ts';
import { describeError } from '../errors.ts';

export { quarantineHeaders } from '../queue/deferred-names.ts';

export interface QuarantineContext {
  readonly nc: NatsConnection;
  readonly streams: DeliveryStreams;
}

export interface QuarantinedJob {
  /** `<source>-<seq>`: what release takes. */
  readonly tag: string;
  readonly seq: number;
  readonly quarantinedAt: string;
  readonly reason: string;
  readonly deliveries: number;
  /** Where the job came from (and where release puts it back). */
  readonly subject: string;
  readonly queueId: string | null;
  readonly sender: string | null;
  readonly recipients: readonly string[];
  /** Why the envelope could not be read, if it could not. */
  readonly problem: string | null;
}

const tagPattern = /^(fresh|retry)-[0-9]+$/;

/** Quarantined jobs in stream order, at most `limit`. */
export async function listQuarantined(ctx: QuarantineContext, { limit = 1_000 } = {}): Promise<QuarantinedJob[]> {
  const jsm = await jetstreamManager(ctx.nc);
  const found: QuarantinedJob[] = [];
  let seq = 1;
  while (found.length < limit) {
    const msg = await jsm.streams.getMessage(ctx.streams.deferStream, { seq, next_by_subj: `${ctx.streams.deferPrefix}.quarantine.>` } as { seq: number });
    if (msg === null) break;
    seq = msg.seq + 1;
    found.push(toJob(ctx.streams, msg));
  }
  return found;
}

export async function countQuarantined(ctx: QuarantineContext): Promise<number> {
  const jsm = await jetstreamManager(ctx.nc);
  const info = await jsm.streams.info(ctx.streams.deferStream, { subjects_filter: `${ctx.streams.deferPrefix}.quarantine.>` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

export async function showQuarantined(ctx: QuarantineContext, tag: string): Promise<QuarantinedJob | null> {
  const msg = await read(ctx, tag);
  return msg && toJob(ctx.streams, msg);
}

/** Puts a quarantined job back where it came from, then removes the quarantined copy. */
export async function releaseQuarantined(ctx: QuarantineContext, tag: string): Promise<'done' | 'not-quarantined'> {
  const msg = await read(ctx, tag);
  if (!msg) return 'not-quarantined';
  const subject = msg.header.get(quarantineHeaders.subject);
  if (!subject) throw new RangeError(`${tag}: the quarantined copy does not say where it came from`);
  await jetstream(ctx.nc).publish(subject, msg.data);
  const jsm = await jetstreamManager(ctx.nc);
  await jsm.streams.purge(ctx.streams.deferStream, { filter: quarantineSubject(ctx.streams, tag) });
  return 'done';
}

async function read(ctx: QuarantineContext, tag: string): Promise<StoredMsg | null> {
  // The tag becomes part of a subject: only the exact shape the worker writes may.
  if (!tagPattern.test(tag)) throw new RangeError(`not a quarantine tag (fresh-<seq> or retry-<seq>): ${JSON.stringify(tag)}`);
  const jsm = await jetstreamManager(ctx.nc);
  return await jsm.streams.getMessage(ctx.streams.deferStream, { last_by_subj: quarantineSubject(ctx.streams, tag) });
}

function toJob(streams: DeliveryStreams, msg: StoredMsg): QuarantinedJob {
  const tag = msg.subject.slice(`${streams.deferPrefix}.quarantine.`.length);
  let decoded: DecodedRecord | null = null;
  let problem: string | null = null;
  try {
    decoded = tag.startsWith('retry-') ? decodeDeferredJob(msg.data).decoded : decodeRecord(msg.data);
  } catch (err) {
    problem = describeError(err);
  }
  const record = decoded?.record;
  return {
    tag,
    seq: msg.seq,
    quarantinedAt: msg.time.toISOString(),
    reason: msg.header.get(quarantineHeaders.reason),
    deliveries: Number(msg.header.get(quarantineHeaders.deliveries)) || 0,
    subject: msg.header.get(quarantineHeaders.subject),
    queueId: record?.queueId ?? null,
    sender: record?.envelope.mailFrom.address ?? null,
    recipients: record?.envelope.rcptTo.map((r) => r.address) ?? [],
    problem,
  };
}
