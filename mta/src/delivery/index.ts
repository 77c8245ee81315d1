// Delivery: from the queue to the world, with retries, bounces and no head-of-line blocking.
//
// Main wiring (after ensureQueue):
//
//   const delivery = await startDelivery({
//     nc, settings,                       // the queue's connection and settings
//     publisher, bodyStore,               // the process's one publisher and its body bucket
//     transport,                          // the transports behind attempt.ts's seam
//     getConfig: () => currentBundle,     // routing reads the bundle in force (routing.ts)
//     routing: { localMaildirRoot },
//     hostname: 'mx.example.com',         // Reporting-MTA of DSNs, MAILER-DAEMON's domain
//     policy: retryPolicy({ ... }),       // default 5m,10m,20m,40m,1h,2h,4h then 4h; 5 days
//     workers: 8, retryWorkers: 4,        // per process; max_ack_pending ≥ pods × workers
//     logger, observer,                   // observer: delivery-observer.ts (metrics)
//   });
//   ...on SIGTERM: await delivery.stop(20_000);   // in-flight jobs get 20 s, then go back
//
// # The guarantees, and why they hold
//
// No head-of-line blocking (DESIGN.md contract 3). A job whose recipients must wait is
// re-published with its state as a scheduled message (ADR-51 `Nats-Schedule: @at`, nats-server
// ≥ 2.12) into MAILQ_DEFER, and the original is acked. A waiting retry is a stored message
// that no consumer has been handed: it holds no ack-pending slot, no worker, no timer in any
// process. NAK with a delay was rejected: a NAKed job stays ack-pending on the shared consumer
// until redelivered, so 5,000 deferred jobs would fill max_ack_pending (1000 by default,
// shared by all pods) and stop fresh mail. When a retry falls due the server publishes it to
// mail.defer.due.<id>, read by its own durable consumer and its own workers, so a burst of due
// retries cannot starve fresh mail either (test/delivery/no-hol.test.ts measures it).
//
// Order of writes (nothing lost, DESIGN.md contract 1): after an attempt, (1) delivered
// recipients go to the ledger (MAILQ_DONE), (2) the DSN is enqueued and its PubAck awaited,
// (3) the retry is scheduled and its PubAck awaited, (4) only then the job is acked (ackAck,
// server-confirmed). A crash before (4) redelivers the job after ack_wait; the ledger keeps
// delivered recipients from being sent again, the DSN's queue id is derived from the job
// (Nats-Msg-Id de-duplicates it) and the retry's schedule subject is per queue id (a second
// publish replaces the first).
//
// Duplicates (contract 2) happen only when a process dies between a remote 250 and the
// ledger's PubAck; ledgerWindow() measures that window (milliseconds; see the kill -9 test).
//
// Lifetime and schedule (contract 4): retry-policy.ts; a message still failing after the
// lifetime bounces with one DSN. DSNs never go to <> (double bounces are dropped).
//
// # Files (each says why)
//
//   worker.ts            pull loops on the shared durable consumers, lease keep-alive (+WPI),
//                        ack only after the engine stored every successor
//   engine.ts            one job: route, attempt each destination concurrently, ledger, decide,
//                        DSN, retry, in that order
//   decision.ts          per-recipient outcome → done | retry | bounce (pure)
//   retry-policy.ts      schedule, jitter, lifetime (pure)
//   destination-health.ts  the dead-destination cache: a destination no server answered is
//                        skipped for a minute, so a black hole cannot hold every worker
//   dsn.ts               RFC 3464 reports from structured data (pure)
//   deferred-job.ts      the retry job format (state line + queue record)
//   delivery-streams.ts  MAILQ_DEFER (scheduled retries; the no-HOL mechanism), MAILQ_DONE
//                        (the delivered-recipient ledger), the `delivery-retry` consumer
//   nats-effects.ts      the engine's writes on JetStream
//   queue-operations.ts  list/show/retry/hold/release/delete of deferred mail
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Bundle } from '../config/bundle-schema.ts';
import type { Logger } from '../ops/logger.ts';
import { deleteBody } from '../queue/orphan-bodies.ts';
import { watchConnection } from '../queue/connection.ts';
import type { QueuePublisher } from '../queue/publisher.ts';
import { decodeRecord } from '../queue/record.ts';
import type { QueueSettings } from '../queue/settings.ts';
import type { Transport } from './attempt.ts';
import { decodeDeferredJob } from './deferred-job.ts';
import { fieldValue } from './dsn.ts';
import { ignoreDeliveryEvents, type DeliveryObserver } from './delivery-observer.ts';
import { createDestinationHealth } from './destination-health.ts';
import { deadSubject, deliveryStreams, ensureDeliveryStreams, type DeliveryStreams } from './delivery-streams.ts';
import { createEngine, type Router } from './engine.ts';
import { natsEffects } from './nats-effects.ts';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import { planRecipients, type RoutingOptions } from './routing.ts';
import { startWorkerPool } from './worker.ts';

export { defaultRetryPolicy, parseDurationMs, parseSchedule, retryPolicy } from './retry-policy.ts';
export type { RetryPolicy } from './retry-policy.ts';
export { deliveryStreams, ensureDeliveryStreams } from './delivery-streams.ts';
export type { DeliveryStreams } from './delivery-streams.ts';
export { ignoreDeliveryEvents } from './delivery-observer.ts';
export type { DeliveryObserver, JobResult, RecipientResult } from './delivery-observer.ts';
export type { Router, RoutePlan } from './engine.ts';
export {
  deferredStats, deleteDeferred, hold, listDeferred, release, retryNow, showDeferred,
} from './queue-operations.ts';
export type { DeferredEntry, DeferredFilter, DeferredStats, OperationResult, OperationsContext } from './queue-operations.ts';

export interface StartDeliveryOptions {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  /** The process's one queue publisher (DSNs are enqueued with it, like accepted mail). */
  readonly publisher: QueuePublisher;
  /** The body bucket the publisher writes to (openBodyStore()). */
  readonly bodyStore: ObjectStore;
  readonly transport: Transport;
  /** The bundle in force; read for every job (a reload applies to the next job). */
  readonly getConfig?: () => Bundle;
  readonly routing?: RoutingOptions;
  /** Replaces bundle routing (tests, or a fixed smart host). */
  readonly route?: Router;
  readonly hostname: string;
  readonly policy?: RetryPolicy;
  /** Milliseconds since the epoch. */
  readonly clock?: { now(): number };
  /** A number in [0, 1). */
  readonly random?: () => number;
  readonly logger: Logger;
  readonly observer?: DeliveryObserver;
  /** Workers for fresh mail (default 8) and for due retries (default half, at least 1). */
  readonly workers?: number;
  readonly retryWorkers?: number;
  /** Deadline of one attempt at one destination (default 15 min: RFC 5321's 10 min for DATA, plus connect). */
  readonly attemptTimeoutMs?: number;
  /**
   * How long a destination no server of which answered is skipped (default 60 s; 0 turns the
   * dead-destination cache off): destination-health.ts.
   */
  readonly deadDestinationMs?: number;
}

export interface DeliveryHandle {
  readonly streams: DeliveryStreams;
  /** Stops pulling; in-flight jobs get `deadlineMs`, then are handed back for redelivery. */
  stop(deadlineMs: number): Promise<void>;
}

export async function startDelivery(opts: StartDeliveryOptions): Promise<DeliveryHandle> {
  const policy = opts.policy ?? defaultRetryPolicy;
  const now = opts.clock ? () => opts.clock!.now() : Date.now;
  const random = opts.random ?? Math.random;
  const observer = opts.observer ?? ignoreDeliveryEvents;
  const streams = deliveryStreams(opts.settings, policy.lifetimeMs);
  await ensureDeliveryStreams(opts.nc, opts.settings, streams);

  const route = opts.route ?? bundleRouter(opts);
  const { bodyStore, publisher } = opts;
  const watch = watchConnection(opts.nc);
  const effects = await natsEffects({ nc: opts.nc, settings: opts.settings, streams, bodyStore, publisher, hostname: opts.hostname, now });
  const engine = createEngine({
    transport: opts.transport, route, effects, policy: () => policy, now, random,
    randomHex: (n) => randomBytes(n).toString('hex'), hostname: opts.hostname,
    attemptTimeoutMs: opts.attemptTimeoutMs ?? 15 * 60_000, logger: opts.logger, observer,
    health: createDestinationHealth({ downForMs: opts.deadDestinationMs ?? 60_000 }),
  });

  const js = jetstream(opts.nc);
  const fresh = await js.consumers.get(opts.settings.streamName, opts.settings.consumerName);
  const retry = await js.consumers.get(streams.deferStream, streams.retryConsumer);
  const common = {
    ackWaitMs: opts.settings.ackWaitMs,
    isConnected: () => watch.connected,
    now,
    process: engine.process,
    logger: opts.logger,
    observer,
    async deadLetter(msg: { data: Uint8Array }, tag: string, reason: string) {
      await js.publish(deadSubject(streams, tag), msg.data, {
        headers: deadHeaders(reason),
        expect: { streamName: streams.deferStream },
      });
    },
    async finished(job: { decoded: { record: { body: { kind: string; name?: string } } } }) {
      const { body } = job.decoded.record;
      if (body.kind === 'object' && body.name) await deleteBody(bodyStore, body.name);
    },
  };
  const workers = opts.workers ?? 8;
  const pools = [
    startWorkerPool({ ...common, source: 'fresh', consumer: fresh, count: workers, decode: (msg) => ({ decoded: decodeRecord(msg.data), state: null }) }),
    startWorkerPool({
      ...common, source: 'retry', consumer: retry, count: opts.retryWorkers ?? Math.max(1, Math.floor(workers / 2)),
      decode: (msg) => {
        const job = decodeDeferredJob(msg.data);
        return { decoded: job.decoded, state: job.state };
      },
    }),
  ];
  opts.logger.info('delivery started', { workers, streams });
  return {
    streams,
    async stop(deadlineMs) {
      await Promise.all(pools.map((p) => p.stop(deadlineMs)));
      watch.stop();
    },
  };
}

function bundleRouter(opts: StartDeliveryOptions): Router {
  const { getConfig, routing } = opts;
  if (!getConfig || !routing) throw new Error('startDelivery needs either `route`, or `getConfig` and `routing`');
  return (record, recipients) => planRecipients(getConfig(), record.envelope.mailFrom.address, recipients, routing);
}

function deadHeaders(reason: string): MsgHdrs {
  const h = headers();
  h.set('Stafette-Dead-Reason', fieldValue(reason, 500));
  return h;
}
