// The queue's JetStream configuration, as pure data. Values and reasons follow
// docs/reliability.md §4 ("JetStream settings"); setup.ts applies them, config-plan.ts decides
// whether an existing stream may be updated to them.
//
// Subject scheme (all under `mail.queue.>`, which the intake credential may publish to):
//   mail.queue.job.<queueId>   one delivery job per accepted message (all its recipients);
//                              <queueId> is one subject token (queue-id.ts).
//   mail.queue.<other>.>       reserved for later job kinds (e.g. retries split per domain);
//                              the stream already captures them, the consumer reads them all.
// Bodies too large to travel inline live in the Object Store bucket `mailbody` (stream
// OBJ_mailbody, subjects $O.mailbody.C.> and $O.mailbody.M.>), one object per queue id.
import { AckPolicy, DeliverPolicy, DiscardPolicy, ReplayPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';

export interface QueueSettings {
  /** Stream holding delivery jobs. */
  readonly streamName: string;
  /** Subject prefix; jobs are `<prefix>.job.<queueId>`. */
  readonly subjectPrefix: string;
  /** Object Store bucket for large bodies. */
  readonly bodyBucket: string;
  /** The durable pull consumer shared by every delivery worker. */
  readonly consumerName: string;
  /** 1 on a single server, 3 in a cluster: R3 survives the loss of one node. */
  readonly replicas: number;
  /** Stream size cap in bytes (~70% of the NATS volume); -1 = unlimited. A full stream answers 452. */
  readonly maxBytes: number;
  /** Same cap for the body bucket. */
  readonly bodyMaxBytes: number;
  /**
   * Budget of the retry stream MAILQ_DEFER; -1 = none. Not a stream max_bytes (schedules refuse
   * discard: new, and discard: old would delete waiting mail): intake refuses new mail near it.
   */
  readonly retryMaxBytes: number;
  /** Cap of the delivered-recipient ledger MAILQ_DONE (discard: new; a refused write is retried, engine.ts); -1 = none. */
  readonly ledgerMaxBytes: number;
  /** Share of any cap at which intake answers 452 4.3.1 before the store is full (store-pressure.ts). */
  readonly nearFullRatio: number;
  /** Nats-Msg-Id dedupe window; must exceed the publisher's retry budget. */
  readonly duplicateWindowMs: number;
  /** How long a delivery worker holds a job before JetStream redelivers it (kept alive with +WPI). */
  readonly ackWaitMs: number;
  /** Jobs in flight across all pods: pods × per-pod delivery concurrency. */
  readonly maxAckPending: number;
}

export const defaultQueueSettings: QueueSettings = {
  streamName: 'MAILQ',
  subjectPrefix: 'mail.queue',
  bodyBucket: 'mailbody',
  consumerName: 'delivery',
  replicas: 1,
  maxBytes: -1,
  bodyMaxBytes: -1,
  retryMaxBytes: -1,
  ledgerMaxBytes: -1,
  nearFullRatio: 0.9,
  duplicateWindowMs: 5 * 60_000,
  ackWaitMs: 60_000,
  maxAckPending: 1000,
};

/** Settings with overrides, validated: a bad value is a startup error, not a surprise later. */
export function queueSettings(overrides: Partial<QueueSettings> = {}): QueueSettings {
  const s = { ...defaultQueueSettings, ...overrides };
  const problems: string[] = [];
  if (![1, 3, 5].includes(s.replicas)) problems.push(`replicas must be 1, 3 or 5, not ${s.replicas}`);
  if (!(s.nearFullRatio > 0 && s.nearFullRatio <= 1)) problems.push(`nearFullRatio must be in (0, 1], not ${s.nearFullRatio}`);
  for (const key of ['maxBytes', 'bodyMaxBytes', 'retryMaxBytes', 'ledgerMaxBytes'] as const) {
    if (!Number.isSafeInteger(s[key]) || (s[key] < 1 && s[key] !== -1)) problems.push(`${key} must be positive or -1`);
  }
  for (const key of ['duplicateWindowMs', 'ackWaitMs', 'maxAckPending'] as const) {
    if (!Number.isSafeInteger(s[key]) || s[key] < 1) problems.push(`${key} must be a positive integer`);
  }
  for (const key of ['streamName', 'consumerName', 'bodyBucket'] as const) {
    if (!/^[A-Za-z0-9_-]+$/.test(s[key])) problems.push(`${key} must be letters, digits, '-' or '_'`);
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(s.subjectPrefix)) problems.push('subjectPrefix must be plain subject tokens');
  if (problems.length > 0) throw new Error(`invalid queue settings: ${problems.join('; ')}`);
  return s;
}

const nanos = (ms: number): number => ms * 1_000_000;

/** Subject of the delivery job for one queue id. */
export function jobSubject(settings: QueueSettings, queueId: string): string {
  return `${settings.subjectPrefix}.job.${queueId}`;
}

/** Everything the stream captures. */
export function streamSubjects(settings: QueueSettings): string[] {
  return [`${settings.subjectPrefix}.>`];
}

/** Name of the stream backing the Object Store bucket (nats.js convention: OBJ_<bucket>). */
export function bodyStreamName(settings: QueueSettings): string {
  return `OBJ_${settings.bodyBucket}`;
}

export type QueueStreamConfig = Partial<StreamConfig> & { name: string };

/**
 * The job stream. `maxPayload` is the server's max_payload: a job can never be larger, so
 * max_msg_size says so explicitly and bigger bodies go to the Object Store.
 */
export function jobStreamConfig(settings: QueueSettings, maxPayload: number): QueueStreamConfig {
  return {
    name: settings.streamName,
    description: 'Stafette delivery jobs (managed by the MTA; never delete or purge)',
    subjects: streamSubjects(settings),
    storage: StorageType.File, // survives restarts; memory storage would lose the queue
    num_replicas: settings.replicas, // R3 survives one node loss; R1 stops with its node
    retention: RetentionPolicy.Workqueue, // a job disappears only when delivery acks it
    discard: DiscardPolicy.New, // at max_bytes refuse new mail (452); `old` would drop queued mail
    max_bytes: settings.maxBytes,
    max_age: 0, // age limits delete unsent mail; the MTA enforces the 5-day lifetime with a DSN
    max_msgs: -1,
    max_msgs_per_subject: -1,
    max_msg_size: maxPayload,
    duplicate_window: nanos(settings.duplicateWindowMs), // Nats-Msg-Id idempotency for retries
    deny_delete: true, // nobody removes a job through the API...
    deny_purge: true, // ...or the whole queue
    allow_rollup_hdrs: false,
  };
}

/**
 * The body bucket's stream, as nats.js's Objm would create it (same subjects, direct get,
 * rollup for metadata), plus file storage, no TTL and discard: new, and deny_delete. It cannot
 * deny purge: replacing or deleting an object purges its chunks, and rollups need purge; NATS
 * permissions give that right to delivery only (nats-roles.ts).
 */
export function bodyStreamConfig(settings: QueueSettings): QueueStreamConfig {
  return {
    name: bodyStreamName(settings),
    description: 'Stafette message bodies too large to travel inline (Object Store)',
    subjects: [`$O.${settings.bodyBucket}.C.>`, `$O.${settings.bodyBucket}.M.>`],
    storage: StorageType.File,
    num_replicas: settings.replicas,
    retention: RetentionPolicy.Limits, // objects are deleted explicitly after final delivery
    discard: DiscardPolicy.New,
    max_bytes: settings.bodyMaxBytes,
    max_age: 0, // a TTL would delete bodies of mail still queued
    max_msgs: -1,
    allow_direct: true, // nats.js reads objects with direct get
    allow_rollup_hdrs: true, // object metadata is a rollup message
    deny_delete: true, // the Object Store never deletes single messages; nobody else may either
  };
}

export type QueueConsumerConfig = Partial<ConsumerConfig> & { durable_name: string };

/** The durable pull consumer every delivery worker shares. */
export function deliveryConsumerConfig(settings: QueueSettings): QueueConsumerConfig {
  return {
    durable_name: settings.consumerName,
    description: 'Stafette delivery workers (shared by every MTA pod)',
    ack_policy: AckPolicy.Explicit, // per-message ack / nak(delay) / term
    ack_wait: nanos(settings.ackWaitMs), // workers extend it with +WPI while an SMTP dialog runs
    max_deliver: -1, // the application decides when to give up (5 days, then a DSN)
    backoff: [], // unset: backoff overrides ack_wait and is ignored by nak; use nak(delay)
    max_ack_pending: settings.maxAckPending,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    inactive_threshold: 0, // a durable consumer must never be garbage-collected
    num_replicas: 0, // inherit the stream's replicas, so ack state survives failover
  };
}
