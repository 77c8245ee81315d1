// Delivery workers: N loops per process pulling one job at a time from a durable consumer
// shared by every pod, handing it to the engine, and settling it with JetStream.
//
// Lease: a job belongs to this worker for ack_wait after delivery; while the engine works,
// a timer sends in-progress acks (+WPI) every ack_wait/3. A renewal counts only when the
// connection is up; if no renewal went out for a whole ack_wait, the lease is presumed lost
// (JetStream may have redelivered the job to another worker) and the worker does not ack:
// late acks are accepted by the server (nats-server #4786) and would remove a job someone
// else is working on. The redelivered job is safe: the ledger skips delivered recipients.
//
// Settling:
//   engine done           → ack, after every successor is stored; ackAck (server-confirmed)
//                           before the body object of a finished job is deleted
//   engine interrupted    → nak(pull expiry + 1 s): shutdown hands work back to other processes
//   job cannot be decoded → copied to mail.defer.dead.<source>-<seq> for a human, then acked
//   delivered > maxDeliveries times (JetStream's deliveryCount: a poison record or a write
//     that keeps failing) → copied to mail.defer.quarantine.<source>-<seq>, then acked; no
//     attempt is made (docs/reliability.md "Limits"; `stafette queue quarantine release`)
//   anything else throws  → nak(delay): a NATS write failed; try again shortly
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { isQueueError } from '../queue/errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { DeliveryObserver } from './delivery-observer.ts';
import type { EngineJob, EngineResult } from './engine.ts';
import { describeError } from '../errors.ts';

export type JobSource = 'fresh' | 'retry';

export interface WorkerPoolOptions {
  readonly source: JobSource;
  readonly consumer: Consumer;
  readonly count: number;
  readonly ackWaitMs: number;
  readonly isConnected: () => boolean;
  readonly now: () => number;
  /** Decodes a job; throws a QueueError of kind "format" for a job that can never be read. */
  readonly decode: (msg: JsMsg) => Omit<EngineJob, 'redelivered' | 'signal'>;
  readonly process: (job: EngineJob) => Promise<EngineResult>;
  /** Keeps an undecodable job for a human (before it is acked away). */
  readonly deadLetter: (msg: JsMsg, tag: string, reason: string) => Promise<void>;
  /** After the final ack of a finished message (e.g. delete its body object). */
  readonly finished: (job: Omit<EngineJob, 'redelivered' | 'signal'>) => Promise<void>;
  /** Moves a job delivered too often aside for a human (before it is acked away). */
  readonly quarantine: (msg: JsMsg, tag: string, reason: string) => Promise<void>;
  /** Deliveries of one job before it is quarantined instead of attempted (default defaultMaxDeliveries). */
  readonly maxDeliveries?: number;
  /** How long a job that failed on a NATS write waits before it is tried again. */
  readonly requeueDelayMs?: number;
  /** How long one pull waits for a job before asking again. */
  readonly pullExpiresMs?: number;
  readonly logger: Logger;
  readonly observer: DeliveryObserver;
}

/** Default deliveries of one job before quarantine (docs/reliability.md "Limits"). */
export const defaultMaxDeliveries = 10;

export interface WorkerPool {
  /** Stops pulling; in-flight jobs get until `deadlineMs` from now, then are handed back. */
  stop(deadlineMs: number): Promise<void>;
}

export function startWorkerPool(opts: WorkerPoolOptions): WorkerPool {
  const log = opts.logger.child({ pool: opts.source });
  const shutdown = new AbortController();
  let stopping = false;
  // Work handed back at shutdown is redelivered only once this process's waiting pulls have
  // expired: an immediate nak lands the job on another of its stopping workers, which hands
  // it back again, each round counting towards maxDeliveries. test/e2e saw jobs quarantined
  // after 14 deliveries in 160 ms when two of three MTA pods stopped at once (scale-down).
  const handBackDelayMs = (opts.pullExpiresMs ?? 5_000) + 1_000;
  const loops = Array.from({ length: opts.count }, (_, i) => loop(i));

  async function loop(index: number): Promise<void> {
    while (!stopping) {
      let msg: JsMsg | null;
      try {
        msg = await opts.consumer.next({ expires: opts.pullExpiresMs ?? 5_000 });
      } catch (err) {
        if (stopping) return;
        log.warn('pull failed; retrying', { worker: index, error: err });
        await sleep(1_000);
        continue;
      }
      if (msg === null) continue;
      if (stopping) {
        // A pull that was already waiting got a job after stop: hand it back.
        msg.nak(handBackDelayMs);
        return;
      }
      await handle(msg);
    }
  }

  async function handle(msg: JsMsg): Promise<void> {
    let lastRenew = opts.now();
    const renew = setInterval(
      () => {
        if (!opts.isConnected()) return;
        msg.working();
        lastRenew = opts.now();
      },
      Math.max(100, Math.floor(opts.ackWaitMs / 3)),
    );
    const tag = `${opts.source}-${msg.seq}`;
    try {
      const maxDeliveries = opts.maxDeliveries ?? defaultMaxDeliveries;
      if (msg.info.deliveryCount > maxDeliveries) {
        const reason = `delivered ${msg.info.deliveryCount} times without being settled (limit ${maxDeliveries})`;
        log.error('job quarantined', { seq: msg.seq, subject: msg.subject, reason });
        await opts.quarantine(msg, tag, reason);
        await msg.ackAck();
        opts.observer.job(opts.source, 'quarantined');
        return;
      }
      let job: Omit<EngineJob, 'redelivered' | 'signal'>;
      try {
        job = opts.decode(msg);
      } catch (err) {
        const reason = describeError(err);
        log.error('undecodable job moved to the dead-letter subject', { seq: msg.seq, subject: msg.subject, reason });
        await opts.deadLetter(msg, tag, reason);
        await msg.ackAck();
        opts.observer.job(opts.source, 'dead_letter');
        return;
      }
      const result = await opts.process({ ...job, redelivered: msg.redelivered, signal: shutdown.signal });
      if (result.kind === 'interrupted') {
        msg.nak(handBackDelayMs);
        opts.observer.job(opts.source, 'shutdown');
        return;
      }
      if (opts.now() - lastRenew > opts.ackWaitMs) {
        log.warn('lease lost during the job; not acking (it will be redelivered)', { queueId: job.decoded.record.queueId, seq: msg.seq });
        opts.observer.job(opts.source, 'lease_lost');
        return;
      }
      const cleanUp = result.kind === 'done' && result.finished;
      if (cleanUp && job.decoded.record.body.kind === 'object') {
        // The body object is deleted next: only once the server has the ack, or a redelivery
        // could find its recipients to retry but no body.
        await msg.ackAck();
      } else {
        // Fire and forget: every successor is stored, so an ack the server never gets only
        // redelivers the job after ack_wait, and the ledger keeps its delivered recipients
        // from being sent again, as after a crash just before the ack. Waiting for the
        // server's confirmation cost a round trip per job (issue 15).
        msg.ack();
      }
      opts.observer.job(opts.source, 'acked');
      if (cleanUp) {
        await opts.finished(job).catch((err: unknown) => log.warn('clean-up after the final ack failed', { error: err }));
      }
    } catch (err) {
      if (isQueueError(err) && err.kind === 'body') {
        // The body is missing or corrupt: no attempt can ever succeed; keep the job for a human.
        log.error('job with a missing or corrupt body moved to the dead-letter subject', { seq: msg.seq, reason: err.message });
        try {
          await opts.deadLetter(msg, tag, err.message);
          await msg.ackAck();
          opts.observer.job(opts.source, 'dead_letter');
          return;
        } catch (dlErr) {
          log.error('dead-lettering failed', { error: dlErr });
        }
      }
      log.warn('job failed; handing it back for a later try', { seq: msg.seq, error: err });
      try {
        msg.nak(opts.requeueDelayMs ?? 15_000);
      } catch {
        /* connection gone: ack_wait redelivers */
      }
      opts.observer.job(opts.source, 'requeued');
    } finally {
      clearInterval(renew);
    }
  }

  return {
    async stop(deadlineMs) {
      stopping = true;
      const timer = setTimeout(() => shutdown.abort(), deadlineMs);
      try {
        await Promise.all(loops);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
