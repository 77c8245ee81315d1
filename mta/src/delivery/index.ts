// Delivery's public surface: startDelivery() wires the delivery streams, the engine, its
// effects on JetStream and the worker pools for fresh mail and due retries. What the engine
// guarantees (no head-of-line blocking, the order of writes, duplicates, lifetime) and what
// every file of this folder does: README.md beside this file.
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../observability/logger.ts';
import { deleteBody } from '../queue/orphan-bodies.ts';
import { watchConnection } from '../queue/connection.ts';
import type { QueuePublisher } from '../queue/publisher.ts';
import { decodeRecord, type DecodedRecord } from '../queue/record.ts';
import { distrust, type RecordSeal } from '../queue/record-seal.ts';
import type { QueueSettings } from '../queue/settings.ts';
import type { Transport } from './attempt.ts';
import { decodeDeferredJob } from './deferred-job.ts';
import { fieldValue } from '../dsn/report.ts';
import { ignoreDeliveryEvents, type DeliveryObserver } from './delivery-observer.ts';
import { createDestinationHealth } from './destination-health.ts';
import { deadSubject, quarantineSubject, deliveryStreams, ensureDeliveryStreams, type DeliveryStreams } from './delivery-streams.ts';
import { createEngine } from './engine.ts';
import type { EngineJob } from './engine.ts';
import { natsEffects } from './nats-effects.ts';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import type { Router } from './routing.ts';
import { quarantineHeaders } from './quarantine.ts';
import { startWorkerPool } from './worker.ts';
import { createByteBudget, defaultDeliveryMemoryBytes } from './byte-budget.ts';

export { defaultRetryPolicy, parseDurationMs, parseSchedule, retryPolicy } from './retry-policy.ts';
export type { RetryPolicy } from './retry-policy.ts';
export { deliveryStreams, ensureDeliveryStreams } from './delivery-streams.ts';
export type { DeliveryStreams } from './delivery-streams.ts';
export { ignoreDeliveryEvents } from './delivery-observer.ts';
export type { DeliveryObserver, JobResult, RecipientResult } from './delivery-observer.ts';
export { createRouter } from './routing.ts';
export { defaultMaxDeliveries } from './worker.ts';
export { defaultDeliveryMemoryBytes } from './byte-budget.ts';
export type { Router, RoutePlan, RoutingOptions } from './routing.ts';
export { deferredStats, deleteDeferred, hold, listDeferred, release, retryNow, showDeferred } from './queue-operations.ts';
export type { DeferredEntry, DeferredFilter, DeferredStats, OperationResult, OperationsContext } from './queue-operations.ts';

/**
 * Workers for fresh mail per process (retries get half, at least one). Each mostly waits on
 * the network: 32 kept delivery up with intake on 2 cores (bench/results). The shared
 * consumer's max_ack_pending must stay at least pods × workers.
 */
export const defaultDeliveryWorkers = 32;

export interface StartDeliveryOptions {
  /** The delivery connection (with role users, the delivery user: queue/nats-roles.ts). */
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  /**
   * The process's one queue publisher (DSNs are enqueued with it, like accepted mail); it
   * publishes on the intake connection, since the delivery user may not publish jobs.
   */
  readonly publisher: QueuePublisher;
  /** The body bucket the publisher writes to (openBodyStore() on the delivery connection). */
  readonly bodyStore: ObjectStore;
  readonly transport: Transport;
  /** Where each recipient goes: createRouter() over the bundle in force (a reload applies to the next job). */
  readonly route: Router;
  readonly hostname: string;
  readonly policy?: RetryPolicy;
  /** Milliseconds since the epoch. */
  readonly clock?: { now(): number };
  /** A number in [0, 1). */
  readonly random?: () => number;
  readonly logger: Logger;
  readonly observer?: DeliveryObserver;
  /** Workers for fresh mail (default defaultDeliveryWorkers) and for due retries (default half, at least 1). */
  readonly workers?: number;
  readonly retryWorkers?: number;
  /** Deadline of one attempt at one destination (default 15 min: RFC 5321's 10 min for DATA, plus connect). */
  readonly attemptTimeoutMs?: number;
  /**
   * How long a destination no server of which answered is skipped (default 60 s; 0 turns the
   * dead-destination cache off): destination-health.ts.
   */
  readonly deadDestinationMs?: number;
  /** Deliveries of one job before it is quarantined (default defaultMaxDeliveries, worker.ts). */
  readonly maxDeliveries?: number;
  /** How long a failed ledger write after a delivery is retried under the lease (default defaultLedgerRetryMs, engine.ts). */
  readonly ledgerRetryMs?: number;
  /** Bodies the workers of this process hold at once, in bytes (default defaultDeliveryMemoryBytes, byte-budget.ts). */
  readonly memoryBudgetBytes?: number;
  /** Object Store bodies from this size on are sent as they are read (default defaultStreamFromBytes, byte-budget.ts); Infinity: never. */
  readonly streamFromBytes?: number;
  /** How long a job whose NATS write failed waits before it is redelivered (default 15 s, worker.ts). */
  readonly requeueDelayMs?: number;
  /** A delay notice (RFC 3461) after this long; default 4 h (dsn/notices.ts); null: none. */
  readonly delayNoticeAfterMs?: number | null;
  /**
   * Verifies each record's queue seal (queue/record-seal.ts); a record that fails is delivered
   * as mail nobody vouched for (`distrust`), logged and counted. None: records are taken as
   * they are (tests of the engine alone); the MTA always passes one.
   */
  readonly seal?: Pick<RecordSeal, 'verify'>;
}

export interface DeliveryHandle {
  readonly streams: DeliveryStreams;
  /** Body bytes the workers hold now, and the budget they share. */
  memory(): { used: number; capacity: number };
  /** Stops pulling; in-flight jobs get `deadlineMs`, then are handed back for redelivery. */
  stop(deadlineMs: number): Promise<void>;
}

export async function startDelivery(opts: StartDeliveryOptions): Promise<DeliveryHandle> {
  const policy = opts.policy ?? defaultRetryPolicy;
  const now = opts.clock ? () => opts.clock!.now() : Date.now;
  const random = opts.random ?? Math.random;
  const observer = opts.observer ?? ignoreDeliveryEvents;
  const streams = deliveryStreams(opts.settings, policy.lifetimeMs);
  const outdated = await ensureDeliveryStreams(opts.nc, opts.settings, streams);
  if (outdated.length > 0) {
    opts.logger.warn('queue objects differ from the settings and this NATS user may not update them; run `stafette queue setup` as the admin user', {
      outdated,
    });
  }

  const { bodyStore, publisher } = opts;
  const budgetBytes = opts.memoryBudgetBytes ?? defaultDeliveryMemoryBytes;
  const bodyBudget = createByteBudget(budgetBytes);
  const watch = watchConnection(opts.nc);
  const effects = await natsEffects({ nc: opts.nc, settings: opts.settings, streams, bodyStore, publisher, hostname: opts.hostname, now });
  const engine = createEngine({
    transport: opts.transport,
    route: opts.route,
    effects,
    policy: () => policy,
    now,
    random,
    randomHex: (n) => randomBytes(n).toString('hex'),
    hostname: opts.hostname,
    attemptTimeoutMs: opts.attemptTimeoutMs ?? 15 * 60_000,
    logger: opts.logger,
    observer,
    health: createDestinationHealth({ downForMs: opts.deadDestinationMs ?? 60_000 }),
    ...(opts.delayNoticeAfterMs !== undefined ? { delayNoticeAfterMs: opts.delayNoticeAfterMs } : {}),
    ...(opts.ledgerRetryMs !== undefined ? { ledgerRetryMs: opts.ledgerRetryMs } : {}),
    bodyBudget,
    ...(opts.streamFromBytes !== undefined ? { streamFromBytes: opts.streamFromBytes } : {}),
  });

  const js = jetstream(opts.nc);
  const fresh = await js.consumers.get(opts.settings.streamName, opts.settings.consumerName);
  const retry = await js.consumers.get(streams.deferStream, streams.retryConsumer);
  const common = {
    ackWaitMs: opts.settings.ackWaitMs,
    isConnected: () => watch.connected,
    now,
    process: (job: EngineJob) => engine.process(job),
    logger: opts.logger,
    observer,
    async deadLetter(msg: { data: Uint8Array }, tag: string, reason: string) {
      await js.publish(deadSubject(streams, tag), msg.data, {
        headers: deadHeaders(reason),
        expect: { streamName: streams.deferStream },
      });
    },
    async quarantine(msg: { data: Uint8Array; subject: string; info: { deliveryCount: number } }, tag: string, reason: string) {
      const h = headers();
      h.set(quarantineHeaders.reason, fieldValue(reason, 500));
      h.set(quarantineHeaders.subject, msg.subject);
      h.set(quarantineHeaders.deliveries, String(msg.info.deliveryCount));
      await js.publish(quarantineSubject(streams, tag), msg.data, { headers: h, expect: { streamName: streams.deferStream } });
    },
    ...(opts.maxDeliveries !== undefined ? { maxDeliveries: opts.maxDeliveries } : {}),
    ...(opts.requeueDelayMs !== undefined ? { requeueDelayMs: opts.requeueDelayMs } : {}),
    async finished(job: { decoded: { record: { body: { kind: string; name?: string } } } }) {
      const { body } = job.decoded.record;
      if (body.kind === 'object' && body.name) await deleteBody(bodyStore, body.name);
    },
  };
  // Every record from the queue, fresh or a retry (both subjects can be published to), is
  // checked before anything reads its auth fields (docs/trust-model.md §2.2).
  const admit = (decoded: DecodedRecord): DecodedRecord => {
    const verdict = opts.seal ? opts.seal.verify(decoded.record) : 'valid';
    if (verdict === 'valid') return decoded;
    const { record } = decoded;
    observer.unsealed?.(verdict);
    opts.logger.warn('queue record not sealed by an MTA; delivering it as mail nobody vouched for', {
      queueId: record.queueId,
      seal: verdict,
      listener: record.listener,
      authUser: record.client.authUser,
    });
    return { ...decoded, record: distrust(record) };
  };
  const workers = opts.workers ?? defaultDeliveryWorkers;
  const pools = [
    startWorkerPool({
      ...common,
      source: 'fresh',
      consumer: fresh,
      count: workers,
      decode: (msg) => ({ decoded: admit(decodeRecord(msg.data)), state: null }),
    }),
    startWorkerPool({
      ...common,
      source: 'retry',
      consumer: retry,
      count: opts.retryWorkers ?? Math.max(1, Math.floor(workers / 2)),
      decode: (msg) => {
        const job = decodeDeferredJob(msg.data);
        return { decoded: admit(job.decoded), state: job.state };
      },
    }),
  ];
  opts.logger.info('delivery started', { workers, streams });
  return {
    streams,
    memory: () => ({ used: bodyBudget.used(), capacity: budgetBytes }),
    async stop(deadlineMs) {
      await Promise.all(pools.map((p) => p.stop(deadlineMs)));
      watch.stop();
    },
  };
}

function deadHeaders(reason: string): MsgHdrs {
  const h = headers();
  h.set('Stafette-Dead-Reason', fieldValue(reason, 500));
  return h;
}
