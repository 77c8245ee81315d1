// Bodies in the Object Store whose job is gone. They appear when a pod dies between storing
// a large body and publishing its job (the client got no 250 and sends again under a new
// queue id), or between delivery's final ack and its deletion of the body. docs/reliability.md §4:
// collect orphans older than an hour. The age threshold is what makes this safe: a body
// written moments ago may still be waiting for its job publish. A quarantined job keeps its
// body however old it is: `stafette queue quarantine release` must find it there.
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { deferStreamName, deferredJobSubjects, quarantineHeaders, quarantineSubjects } from './deferred-names.ts';
import { isQueueId } from './queue-id.ts';
import { jobSubject, type QueueSettings } from './settings.ts';

export interface OrphanBody {
  readonly name: string;
  readonly size: number;
  readonly storedAt: string;
}

export interface OrphanSearch {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly bodyStore: ObjectStore;
  /** Only bodies stored longer ago than this count (default one hour). */
  readonly minAgeMs?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

/** Pure: is this object old enough to be collected if it has no job? */
export function oldEnoughToCollect(info: Pick<ObjectInfo, 'mtime' | 'deleted'>, nowMs: number, minAgeMs: number): boolean {
  const stored = Date.parse(info.mtime);
  return !info.deleted && Number.isFinite(stored) && nowMs - stored > minAgeMs;
}

/** Bodies older than minAgeMs with no job in the stream and no retry waiting. Reads only. */
export async function findOrphanBodies(opts: OrphanSearch): Promise<OrphanBody[]> {
  const now = (opts.now ?? Date.now)();
  const minAgeMs = opts.minAgeMs ?? 3_600_000;
  const jsm = await jetstreamManager(opts.nc);
  const orphans: OrphanBody[] = [];
  let quarantined: Set<string> | null = null;
  for (const info of await opts.bodyStore.list()) {
    if (!oldEnoughToCollect(info, now, minAgeMs)) continue;
    // Objects not named like queue ids were not written by the MTA: leave them alone.
    if (!isQueueId(info.name)) continue;
    quarantined ??= await quarantinedQueueIds(jsm, opts.settings);
    if (quarantined.has(info.name)) continue;
    const job = await jsm.streams.getMessage(opts.settings.streamName, { last_by_subj: jobSubject(opts.settings, info.name) });
    if (job !== null) continue;
    // A message waiting for a retry keeps its body too (delivery's MAILQ_DEFER).
    if (await waitsForRetry(jsm, opts.settings, info.name)) continue;
    orphans.push({ name: info.name, size: info.size, storedAt: info.mtime });
  }
  return orphans;
}

/**
 * Queue ids of the quarantined jobs, read from the subject each came from (the job's or its
 * retry's, both ending in the queue id), so even a record that cannot be decoded keeps its body.
 */
async function quarantinedQueueIds(jsm: JetStreamManager, settings: QueueSettings): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let seq = 1; ;) {
    let msg;
    try {
      msg = await jsm.streams.getMessage(deferStreamName(settings), { seq, next_by_subj: quarantineSubjects } as { seq: number });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return ids;
      throw err;
    }
    if (msg === null) return ids;
    seq = msg.seq + 1;
    const queueId = (msg.header?.get(quarantineHeaders.subject) ?? '').split('.').pop() ?? '';
    if (isQueueId(queueId)) ids.add(queueId);
  }
}

async function waitsForRetry(jsm: JetStreamManager, settings: QueueSettings, queueId: string): Promise<boolean> {
  const { wait, due } = deferredJobSubjects(queueId);
  for (const subject of [wait, due]) {
    try {
      if ((await jsm.streams.getMessage(deferStreamName(settings), { last_by_subj: subject })) !== null) return true;
    } catch (err) {
      // No retry stream yet (delivery never ran): nothing waits there.
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
      throw err;
    }
  }
  return false;
}

/** Deletes the body of a message that is finished with (delivered, bounced or orphaned). */
export async function deleteBody(store: ObjectStore, name: string): Promise<void> {
  if (!isQueueId(name)) throw new RangeError(`not a queue id: ${JSON.stringify(name)}`);
  await store.delete(name);
}
