// The JetStream objects delivery adds next to the queue's (queue/settings.ts), as pure data,
// and their idempotent set-up.
//
// # Why a second stream for retries (no head-of-line blocking, docs/architecture.md §2 contract 3)
//
// A job whose recipients must wait is not NAKed with a delay: a NAKed message stays
// ack-pending on the `delivery` consumer until it is redelivered, so 5,000 deferred jobs
// would hold 5,000 slots of max_ack_pending (default 1000, shared by every pod) and fresh
// mail would stop. Instead the retry is re-published, with its state, as a *scheduled
// message* (ADR-51, nats-server ≥ 2.12, `Nats-Schedule: @at <time>`) into the stream
// MAILQ_DEFER:
//
//   mail.defer.wait.<queueId>   the schedule: stored, held by the server, consumed by nobody
//                               (a work-queue schedule survives as long as no consumer acks
//                               it); one per queue id (schedules roll up per subject, so a
//                               re-publish after a crash replaces it instead of doubling it)
//   mail.defer.due.<queueId>    what the server publishes at the due time (the schedule is
//                               then removed); read by the durable consumer `delivery-retry`
//   mail.defer.dead.<seq>       jobs that can never be decoded, kept for a human; not consumed
//   mail.defer.quarantine.<tag> jobs delivered more than --max-deliveries times without being
//                               settled (a poison record, a write that keeps failing), kept
//                               for a human (`stafette queue quarantine`, quarantine.ts); not consumed
//
// So a waiting retry costs stored bytes, never ack-pending slots on either consumer, and no
// process holds a timer for it: a pod that dies strands nothing. Due retries have their own
// consumer (own ack-pending budget) and their own workers, so a flood of due retries to a
// dead destination cannot starve fresh mail either (Postfix's qmgr keeps new and deferred
// mail apart for the same reason).
//
// The schedules feature implicitly clears deny_purge on MAILQ_DEFER (ADR-51); the job
// stream MAILQ keeps it. Purge rights are withheld by NATS permissions (docs/reliability.md §3 scenario 53).
//
// # The delivered-recipient ledger
//
//   mail.done.<queueId>.<pairKey>  in stream MAILQ_DONE, one message per delivered
//                                  (envelope recipient, address); read by direct get
// Limits retention with max_age = lifetime + 1 day: entries outlive every retry of their
// message and then expire by themselves.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeError } from '../errors.ts';
import { changedConsumerFields, changedStreamFields } from '../queue/config-plan.ts';
import { deferStreamName, deferSubjectPrefix } from '../queue/deferred-names.ts';
import { queueSetupRefused } from '../queue/errors.ts';
import { isPermissionDenied } from '../queue/setup.ts';
import type { QueueSettings } from '../queue/settings.ts';

export interface DeliveryStreams {
  readonly deferStream: string;
  readonly deferPrefix: string;
  readonly retryConsumer: string;
  readonly doneStream: string;
  readonly donePrefix: string;
  /** Ledger entries live this long (lifetime + margin). */
  readonly ledgerMaxAgeMs: number;
}

export function deliveryStreams(settings: QueueSettings, lifetimeMs: number): DeliveryStreams {
  return {
    deferStream: deferStreamName(settings),
    deferPrefix: deferSubjectPrefix,
    retryConsumer: `${settings.consumerName}-retry`,
    doneStream: `${settings.streamName}_DONE`,
    donePrefix: 'mail.done',
    ledgerMaxAgeMs: lifetimeMs + 24 * 3_600_000,
  };
}

export const waitSubject = (s: DeliveryStreams, queueId: string): string => `${s.deferPrefix}.wait.${queueId}`;
export const dueSubject = (s: DeliveryStreams, queueId: string): string => `${s.deferPrefix}.due.${queueId}`;
export const deadSubject = (s: DeliveryStreams, tag: string): string => `${s.deferPrefix}.dead.${tag}`;
export const quarantineSubject = (s: DeliveryStreams, tag: string): string => `${s.deferPrefix}.quarantine.${tag}`;
export const ledgerSubject = (s: DeliveryStreams, queueId: string, pairKey: string): string => `${s.donePrefix}.${queueId}.${pairKey}`;

const nanos = (ms: number): number => ms * 1_000_000;

// What both delivery streams are: on disk, replicated like the queue, every subject under their prefix.
function fileStream(name: string, description: string, prefix: string, settings: QueueSettings): Partial<StreamConfig> & { name: string } {
  return { name, description, subjects: [`${prefix}.>`], storage: StorageType.File, num_replicas: settings.replicas };
}

export function deferStreamConfig(s: DeliveryStreams, settings: QueueSettings, maxPayload: number): Partial<StreamConfig> & { name: string } {
  return {
    ...fileStream(s.deferStream, 'Stafette retries waiting for their time (scheduled messages) and due retries', s.deferPrefix, settings),
    retention: RetentionPolicy.Workqueue,
    // nats-server refuses schedules with discard: new, and discard: old with a limit would
    // delete waiting mail; so no limit at all: nothing is ever discarded. When JetStream's
    // storage is exhausted the retry publish fails, the job is not acked, and it stays in
    // MAILQ (which does have max_bytes + discard: new, so intake then answers 452).
    discard: DiscardPolicy.Old,
    max_bytes: -1,
    max_age: 0,
    max_msgs: -1,
    max_msg_size: maxPayload,
    duplicate_window: nanos(settings.duplicateWindowMs),
    deny_delete: true,
    allow_msg_schedules: true,
    allow_rollup_hdrs: true, // schedules are rollup-per-subject messages (ADR-51)
  };
}

export function doneStreamConfig(s: DeliveryStreams, settings: QueueSettings): Partial<StreamConfig> & { name: string } {
  return {
    ...fileStream(s.doneStream, 'Stafette delivered-recipient ledger (a later retry never sends to these again)', s.donePrefix, settings),
    retention: RetentionPolicy.Limits,
    // Capped: refuse new entries at the cap (the engine retries the write under the lease, and
    // intake stops taking mail near it, store-pressure.ts); discard: old would forget
    // deliveries and so resend them. Uncapped: old, as nothing is ever discarded.
    discard: settings.ledgerMaxBytes > 0 ? DiscardPolicy.New : DiscardPolicy.Old,
    max_bytes: settings.ledgerMaxBytes,
    max_age: nanos(s.ledgerMaxAgeMs),
    max_msgs_per_subject: 1,
    allow_direct: true,
    // Entries expire by max_age (internal, not an API delete); nobody removes one early, which
    // would make a later retry deliver again (docs/trust-model.md "NATS roles and TLS").
    deny_delete: true,
    deny_purge: true,
  };
}

export function retryConsumerConfig(s: DeliveryStreams, settings: QueueSettings): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: s.retryConsumer,
    description: 'Stafette delivery workers for due retries (shared by every MTA pod)',
    filter_subject: `${s.deferPrefix}.due.>`, // never the schedules themselves: acking one would cancel it
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: settings.maxAckPending,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    inactive_threshold: 0,
    num_replicas: 0,
  };
}

/**
 * Creates or updates MAILQ_DEFER, MAILQ_DONE and the retry consumer. Safe from every pod at
 * once. Returns the objects that differ from the settings but that this NATS user may not
 * update (queue/setup.ts SetupOutcome `outdated`), for the caller to log.
 */
export async function ensureDeliveryStreams(nc: NatsConnection, settings: QueueSettings, s: DeliveryStreams): Promise<string[]> {
  const maxPayload = nc.info?.max_payload;
  if (!maxPayload) throw queueSetupRefused('the NATS server did not report max_payload; is the connection up?');
  const jsm = await jetstreamManager(nc);
  const outdated: string[] = [];
  if (!(await ensureStream(jsm, deferStreamConfig(s, settings, maxPayload), RetentionPolicy.Workqueue))) outdated.push(s.deferStream);
  if (!(await ensureStream(jsm, doneStreamConfig(s, settings), RetentionPolicy.Limits))) outdated.push(s.doneStream);
  const consumer = retryConsumerConfig(s, settings);
  try {
    const existing = (await jsm.consumers.info(s.deferStream, consumer.durable_name)).config;
    const update = changedConsumerFields(existing, consumer, ['ack_wait', 'max_ack_pending', 'description']);
    if (Object.keys(update).length > 0) {
      await jsm.consumers.update(s.deferStream, consumer.durable_name, update).catch((err: unknown) => {
        if (!isPermissionDenied(err)) throw err;
        outdated.push(`${s.deferStream}/${consumer.durable_name}`);
      });
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) {
      throw queueSetupRefused(`could not set up consumer ${consumer.durable_name}: ${describeError(err)}`, err);
    }
    await jsm.consumers.add(s.deferStream, consumer).catch(async (addErr: unknown) => {
      // Another pod created it first.
      await jsm.consumers.info(s.deferStream, consumer.durable_name).catch(() => {
        throw addErr;
      });
    });
  }
  return outdated;
}

// False when the stream differs from `desired` and this user may not update it.
async function ensureStream(jsm: JetStreamManager, desired: Partial<StreamConfig> & { name: string }, retention: RetentionPolicy): Promise<boolean> {
  let existing: StreamConfig | null = null;
  try {
    existing = (await jsm.streams.info(desired.name)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) {
      throw queueSetupRefused(`could not read stream ${desired.name}: ${describeError(err)}`, err);
    }
  }
  try {
    if (existing === null) {
      await jsm.streams.add(desired).catch(async (err: unknown) => {
        await jsm.streams.info(desired.name).catch(() => {
          throw err;
        });
      });
      return true;
    }
    if (existing.retention !== retention) {
      throw queueSetupRefused(`stream ${desired.name} has retention "${existing.retention}", expected "${retention}"; fix it by hand`);
    }
    const { retention: _r, storage: _s, ...mutable } = desired;
    if (Object.keys(changedStreamFields(existing, desired)).length === 0 && Boolean(existing.allow_msg_schedules) === Boolean(desired.allow_msg_schedules))
      return true;
    try {
      await jsm.streams.update(desired.name, mutable);
    } catch (err) {
      if (isPermissionDenied(err)) return false;
      throw err;
    }
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'QueueError') throw err;
    throw queueSetupRefused(`could not set up stream ${desired.name}: ${describeError(err)}`, err);
  }
}
