// Pure decisions for setup.ts: given what exists on the server and what settings.ts wants,
// either refuse (the existing stream can lose mail, or NATS cannot change it in place) or
// list the fields to update. Setup never deletes, recreates or purges: a stream that
// cannot be fixed by an update is a human's decision, so the MTA refuses to start.
import { AckPolicy, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';
import type { QueueConsumerConfig, QueueStreamConfig } from './settings.ts';

export interface UpdatePlan<T> {
  /** Why the existing object must not be used; empty when it is safe. */
  readonly refuse: string[];
  /** The fields to send in an update (empty when nothing differs). */
  readonly update: Partial<T>;
}

const streamFields = [
  'subjects',
  'num_replicas',
  'discard',
  'max_bytes',
  'max_msgs',
  'max_msgs_per_subject',
  'max_age',
  'max_msg_size',
  'duplicate_window',
  'deny_delete',
  'deny_purge',
  'allow_direct',
  'allow_rollup_hdrs',
  'description',
] as const satisfies readonly (keyof StreamConfig)[];

/** Compares an existing stream with the desired one. */
export function planStreamUpdate(existing: StreamConfig, desired: QueueStreamConfig): UpdatePlan<StreamConfig> {
  const refuse: string[] = [];
  const name = existing.name;
  if (existing.storage !== StorageType.File) {
    refuse.push(`stream ${name} uses ${existing.storage} storage; the queue needs file storage (NATS cannot change it in place)`);
  }
  if (existing.retention !== desired.retention) {
    refuse.push(`stream ${name} has retention "${existing.retention}", expected "${desired.retention}" (NATS cannot change it in place)`);
  }
  if (existing.max_age > 0) {
    refuse.push(`stream ${name} has max_age ${existing.max_age / 1e9}s: age limits delete mail that is still queued`);
  }
  if (existing.max_msgs > 0) {
    refuse.push(`stream ${name} has max_msgs ${existing.max_msgs}: message limits can delete queued mail`);
  }
  if ((existing.max_msgs_per_subject ?? -1) > 0) {
    refuse.push(`stream ${name} has max_msgs_per_subject ${existing.max_msgs_per_subject}: it can delete queued mail`);
  }
  if (existing.discard === DiscardPolicy.Old && existing.max_bytes > 0) {
    refuse.push(`stream ${name} has discard "old" with max_bytes: a full stream would silently drop queued mail`);
  }
  if (existing.sealed) refuse.push(`stream ${name} is sealed: nothing can be queued`);
  if (existing.mirror) refuse.push(`stream ${name} is a mirror: it cannot take publishes`);

  return { refuse, update: changedFields(existing, desired, streamFields) };
}

const consumerFields = [
  'ack_wait',
  'max_deliver',
  'backoff',
  'max_ack_pending',
  'inactive_threshold',
  'description',
] as const satisfies readonly (keyof ConsumerConfig)[];

/** Compares an existing durable consumer with the desired one. */
export function planConsumerUpdate(existing: ConsumerConfig, desired: QueueConsumerConfig): UpdatePlan<ConsumerConfig> {
  const refuse: string[] = [];
  const name = existing.durable_name ?? existing.name ?? desired.durable_name;
  if (existing.ack_policy !== AckPolicy.Explicit) {
    refuse.push(`consumer ${name} has ack_policy "${existing.ack_policy}"; delivery needs "explicit" (NATS cannot change it in place)`);
  }
  if (existing.deliver_subject) {
    refuse.push(`consumer ${name} is a push consumer; delivery needs a pull consumer`);
  }
  if (existing.filter_subject || (existing.filter_subjects?.length ?? 0) > 0) {
    refuse.push(`consumer ${name} filters subjects; it must read every job in the stream`);
  }
  return { refuse, update: changedFields(existing, desired, consumerFields) };
}

/** The fields of `desired` (among `fields`) whose value differs from the existing config's. */
function changedFields<T extends object>(existing: T, desired: Partial<T>, fields: readonly (keyof T)[]): Partial<T> {
  const update: Partial<T> = {};
  for (const field of fields) {
    if (!(field in desired)) continue;
    const want = desired[field];
    if (!sameValue(existing[field], want)) update[field] = want;
  }
  return update;
}

// The server omits empty and zero values from configs it returns, so an absent field equals
// 0, false, '' or [] in the desired config.
function sameValue(have: unknown, want: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (v === undefined || v === null || v === false || v === 0 || v === '') return undefined;
    if (Array.isArray(v)) return v.length === 0 ? undefined : (v as unknown[]).map(String).sort().join('\u0000');
    return v;
  };
  return norm(have) === norm(want);
}
