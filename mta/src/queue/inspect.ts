// Read-only views of the queue for `stafette queue stats|list|show`.
//
// Nothing here consumes: jobs are read by stream sequence with STREAM.MSG.GET (served by the
// stream leader), never through a consumer, so nothing is acked, removed or redelivered,
// and no extra consumer is created on the work-queue stream (docs/reliability.md §3 scenario 6:
// churning consumers on a work queue has lost messages before).
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager, SeqMsgRequest, StoredMsg } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeBodyLocation, objectDigestHex } from './body-store.ts';
import { isQueueId } from './queue-id.ts';
import { decodeRecord, type QueueRecord } from './record.ts';
import { bodyStreamName, jobSubject, type QueueSettings } from './settings.ts';
import { describeError } from '../errors.ts';

export interface QueueStats {
  readonly stream: {
    readonly name: string;
    /** Jobs not yet acked (queued or being delivered). */
    readonly messages: number;
    readonly bytes: number;
    readonly firstSeq: number;
    readonly lastSeq: number;
    /** Time the oldest job was stored; null when the queue is empty. */
    readonly oldest: string | null;
  };
  /** null when the delivery consumer does not exist yet. */
  readonly consumer: {
    readonly name: string;
    /** Jobs not yet handed to any worker. */
    readonly pending: number;
    /** Jobs handed to a worker and not yet acked. */
    readonly ackPending: number;
    readonly redelivered: number;
    readonly waitingPulls: number;
  } | null;
  /** The Object Store stream holding large bodies; null when it does not exist yet. */
  readonly bodies: { readonly bucket: string; readonly bytes: number; readonly messages: number } | null;
}

export interface QueueListEntry {
  readonly seq: number;
  readonly queueId: string;
  readonly sender: string;
  readonly recipients: string[];
  /** Body size in bytes. */
  readonly size: number;
  readonly receivedAt: string;
  readonly ageMs: number;
  readonly bodyKind: 'inline' | 'object';
}

/** A job that could not be decoded is listed, not skipped, so it is noticed. */
export interface QueueListProblem {
  readonly seq: number;
  readonly subject: string;
  readonly problem: string;
}

export interface QueueShowResult {
  readonly seq: number;
  /** When JetStream stored the job. */
  readonly storedAt: string;
  readonly record: QueueRecord;
  readonly bodySize: number;
  /** Where the body lives, in words. */
  readonly bodyLocation: string;
  /** For Object Store bodies: whether the object is there with the recorded digest. Inline: true. */
  readonly bodyPresent: boolean;
}

export interface InspectOptions {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  /** Milliseconds since the epoch, for ages. */
  readonly now?: () => number;
}

export async function queueStats({ nc, settings }: InspectOptions): Promise<QueueStats> {
  const jsm = await jetstreamManager(nc);
  const si = await jsm.streams.info(settings.streamName);
  const ci = await orNull(() => jsm.consumers.info(settings.streamName, settings.consumerName));
  const bi = await orNull(() => jsm.streams.info(bodyStreamName(settings)));
  return {
    stream: {
      name: si.config.name,
      messages: si.state.messages,
      bytes: si.state.bytes,
      firstSeq: si.state.first_seq,
      lastSeq: si.state.last_seq,
      oldest: si.state.messages > 0 ? si.state.first_ts : null,
    },
    consumer: ci && {
      name: settings.consumerName,
      pending: ci.num_pending,
      ackPending: ci.num_ack_pending,
      redelivered: ci.num_redelivered,
      waitingPulls: ci.num_waiting,
    },
    bodies: bi && { bucket: settings.bodyBucket, bytes: bi.state.bytes, messages: bi.state.messages },
  };
}

/** Up to `limit` queued jobs, oldest first, starting at stream sequence `fromSeq`. */
export async function listQueue(
  opts: InspectOptions,
  { limit = 100, fromSeq = 1 }: { limit?: number; fromSeq?: number } = {},
): Promise<{ entries: QueueListEntry[]; problems: QueueListProblem[]; nextSeq: number | null }> {
  const jsm = await jetstreamManager(opts.nc);
  const now = opts.now ?? Date.now;
  const entries: QueueListEntry[] = [];
  const problems: QueueListProblem[] = [];
  let seq = fromSeq;
  while (entries.length + problems.length < limit) {
    const msg = await nextJob(jsm, opts.settings, seq);
    if (msg === null) return { entries, problems, nextSeq: null };
    seq = msg.seq + 1;
    try {
      const { record } = decodeRecord(msg.data);
      entries.push({
        seq: msg.seq,
        queueId: record.queueId,
        sender: record.envelope.mailFrom.address,
        recipients: record.envelope.rcptTo.map((r) => r.address),
        size: record.body.size,
        receivedAt: record.receivedAt,
        ageMs: Math.max(0, now() - Date.parse(record.receivedAt)),
        bodyKind: record.body.kind,
      });
    } catch (err) {
      problems.push({ seq: msg.seq, subject: msg.subject, problem: describeError(err) });
    }
  }
  return { entries, problems, nextSeq: seq };
}

/** One queued job by queue id, or null when no such job is queued. */
export async function showQueued(opts: InspectOptions & { bodyStore: ObjectStore }, queueId: string): Promise<QueueShowResult | null> {
  // The id becomes part of a subject: anything but the exact id shape ('>', '*', '.') could
  // match other jobs.
  if (!isQueueId(queueId)) throw new RangeError(`not a queue id: ${JSON.stringify(queueId)}`);
  const jsm = await jetstreamManager(opts.nc);
  const msg = await jsm.streams.getMessage(opts.settings.streamName, { last_by_subj: jobSubject(opts.settings, queueId) });
  if (msg === null) return null;
  const decoded = decodeRecord(msg.data);
  const { body } = decoded.record;
  let bodyPresent = true;
  if (body.kind === 'object') {
    const info = await opts.bodyStore.info(body.name);
    bodyPresent = info !== null && !info.deleted && info.size === body.size && objectDigestHex(info) === body.sha256;
  }
  return {
    seq: msg.seq,
    storedAt: msg.time.toISOString(),
    record: decoded.record,
    bodySize: body.size,
    bodyLocation: describeBodyLocation(body),
    bodyPresent,
  };
}

// The first job at or after `seq` (work-queue streams have gaps where jobs were acked).
async function nextJob(jsm: JetStreamManager, settings: QueueSettings, seq: number): Promise<StoredMsg | null> {
  // STREAM.MSG.GET accepts next_by_subj; nats.js's MsgRequest type does not list it.
  const query = { seq, next_by_subj: `${settings.subjectPrefix}.job.>` } satisfies SeqMsgRequest & { next_by_subj: string };
  return await jsm.streams.getMessage(settings.streamName, query);
}

async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound)) return null;
    throw err;
  }
}
