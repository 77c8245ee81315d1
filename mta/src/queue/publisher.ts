// Enqueue: store one accepted message durably, or fail with a classified QueueError.
//
// The SMTP intake calls enqueue() after DATA and answers 250 only when it resolves: by then
// the body (Object Store, for large bodies) and the job (stream MAILQ) are both acknowledged
// by JetStream. On failure it answers err.reply (451 4.3.0, or 452 4.3.1 when the stream is
// full) and logs err.message.
//
// Retries: a timeout, "no responders" or a dropped connection does not say whether the
// server stored the job. The job is published again with the same Nats-Msg-Id (the queue
// id), so if the first attempt was stored the stream answers duplicate:true, which counts as
// success, and the message is stored once. All attempts fit in a budget (default 10 s, plus
// time for large bodies) well inside the stream's duplicate_window, so dedupe always applies.
// While the connection is down no attempt is made: nats.js would buffer the publish and send
// it after reconnecting, possibly after the client has already been told 451.
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { storeBody } from './body-store.ts';
import { BodyStream, deleteObject, type BodyStreamOptions } from './body-stream.ts';
import { watchConnection } from './connection.ts';
import { classifyPublishFailure, queueUnavailable } from './errors.ts';
import { isQueueId } from './queue-id.ts';
import { encodeRecord, recordVersion, sha256Hex, type ClientInfo, type QueueEnvelope, type QueueRecord, type SenderAuthResults } from './record.ts';
import type { RecordSeal } from './record-seal.ts';
import { jobSubject, type QueueSettings } from './settings.ts';

/** What intake knows about an accepted message; the publisher adds the body reference. */
export interface AcceptedMessage {
  /** From newQueueId(), created once per DATA and reused on every retry. */
  readonly queueId: string;
  readonly receivedAt: string;
  readonly listener: string;
  readonly client: ClientInfo;
  readonly envelope: QueueEnvelope;
  /** The inbound checks' SPF and DMARC results (MX only; record.ts). */
  readonly senderAuth?: SenderAuthResults;
}

export interface EnqueueResult {
  readonly queueId: string;
  /** Stream sequence of the job. */
  readonly seq: number;
  /** True when an earlier attempt had already stored the job. */
  readonly duplicate: boolean;
  readonly bodyKind: 'inline' | 'object';
}

export interface PublisherOptions {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  /** The body bucket (openBodyStore()). */
  readonly bodyStore: ObjectStore;
  /** Whether the connection is up now; default: a watchConnection() of its own. */
  readonly isConnected?: () => boolean;
  /** Wait for one PubAck at most this long (default 5000 ms). */
  readonly attemptTimeoutMs?: number;
  /** All attempts for one message end within this budget (default 10 000 ms)... */
  readonly budgetMs?: number;
  /** ...plus the time to write the body at this floor rate (default 2 MiB/s). */
  readonly bodyBytesPerSecond?: number;
  /** Bodies above this size go to the Object Store; capped by the server's max_payload. */
  readonly inlineMaxBytes?: number;
  /** Monotonic milliseconds; injected so tests can control time. */
  readonly now?: () => number;
  /**
   * Where a streamed body that intake abandoned (a refused message) is deleted: a body store on
   * a connection allowed to purge the bucket (the delivery user's when the NATS roles are split,
   * nats-roles.ts); null: left to the orphan collector. Default: `bodyStore`.
   */
  readonly discardStore?: ObjectStore | null;
  /** Seals every record it publishes (record-seal.ts); none: records go out unsealed. */
  readonly seal?: Pick<RecordSeal, 'seal'>;
}

/** A body already in the Object Store (body-stream.ts), and the header fields to put before it. */
export interface StoredBody {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly prefix: string;
}

export interface QueuePublisher {
  enqueue(message: AcceptedMessage, body: Uint8Array): Promise<EnqueueResult>;
  /** Publishes the job of a body streamed to the Object Store during DATA (object named after the queue id). */
  enqueueStored(message: AcceptedMessage, body: StoredBody): Promise<EnqueueResult>;
  /** Starts writing a body to the Object Store as object `queueId` while DATA arrives. */
  openBodyStream(queueId: string, options?: BodyStreamOptions): BodyStream;
}

// Room for the NATS headers of a job (Nats-Msg-Id, Nats-Expected-Stream) within max_payload.
const headerRoom = 4096;

export function createPublisher(opts: PublisherOptions): QueuePublisher {
  const js: JetStreamClient = jetstream(opts.nc);
  const now = opts.now ?? (() => performance.now());
  const isConnected = opts.isConnected ?? connectedNow(opts.nc);
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? 5_000;
  const budgetMs = opts.budgetMs ?? 10_000;
  const bytesPerSecond = opts.bodyBytesPerSecond ?? 2 * 1024 * 1024;
  if (budgetMs >= opts.settings.duplicateWindowMs) throw new Error('the publish budget must be shorter than the duplicate window');

  /** Runs `attempt` until it succeeds, fails for good, or the deadline passes. */
  async function withRetries<T>(what: string, deadline: number, attempt: (timeoutMs: number) => Promise<T>): Promise<T> {
    let tries = 0;
    let last = 'no attempt made';
    for (;;) {
      const remaining = deadline - now();
      if (remaining <= 0) {
        throw queueUnavailable(`${what}: no acknowledgement within the publish budget after ${tries} attempt(s); last: ${last}`);
      }
      if (!isConnected()) {
        last = 'not connected to NATS';
        await sleep(Math.min(200, remaining));
        continue;
      }
      tries++;
      try {
        return await beforeDeadline(attempt(Math.min(attemptTimeoutMs, remaining)), remaining);
      } catch (err) {
        const verdict = classifyPublishFailure(err);
        if (verdict.action === 'fail') throw verdict.error;
        last = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        await sleep(Math.min(100 * 2 ** Math.min(tries, 4), Math.max(0, deadline - now())));
      }
    }
  }

  const sealed = (record: QueueRecord): QueueRecord => (opts.seal ? { ...record, seal: opts.seal.seal(record) } : record);

  async function publishJob(message: AcceptedMessage, job: Uint8Array, deadline: number) {
    return await withRetries(`publishing job ${message.queueId}`, deadline, (timeout) =>
      js.publish(jobSubject(opts.settings, message.queueId), job, {
        msgID: message.queueId,
        expect: { streamName: opts.settings.streamName },
        timeout,
      }),
    );
  }

  return {
    async enqueue(message, body) {
      if (!isQueueId(message.queueId)) throw new Error(`not a queue id: ${JSON.stringify(message.queueId)}`);
      const size = body.length;
      const sha256 = sha256Hex(body);
      const maxPayload = opts.nc.info?.max_payload ?? 1024 * 1024;
      const inlineMax = Math.min(opts.inlineMaxBytes ?? Infinity, maxPayload - headerRoom);

      const base = { v: recordVersion, ...pickMessage(message) } as const;
      let payload: Uint8Array | null = null;
      if (size <= inlineMax) {
        const inline = encodeRecord(sealed({ ...base, body: { kind: 'inline', size, sha256 } }), body);
        if (inline.length <= inlineMax) payload = inline;
      }
      const bodyKind = payload ? 'inline' : 'object';
      const deadline = now() + budgetMs + (payload ? 0 : (size / bytesPerSecond) * 1000);

      if (!payload) {
        const record: QueueRecord = {
          ...base,
          body: { kind: 'object', bucket: opts.settings.bodyBucket, name: message.queueId, size, sha256 },
        };
        payload = encodeRecord(sealed(record), null);
        await withRetries(`storing the body of ${message.queueId}`, deadline, (timeout) => storeBody(opts.bodyStore, message.queueId, body, sha256, timeout));
      }
      const ack = await publishJob(message, payload, deadline);
      return { queueId: message.queueId, seq: ack.seq, duplicate: ack.duplicate, bodyKind };
    },

    openBodyStream(queueId, options) {
      if (!isQueueId(queueId)) throw new Error(`not a queue id: ${JSON.stringify(queueId)}`);
      const discardStore = opts.discardStore === undefined ? opts.bodyStore : opts.discardStore;
      const discard = discardStore ? (name: string) => deleteObject(discardStore, name) : null;
      return new BodyStream(opts.bodyStore, queueId, { chunkTimeoutMs: attemptTimeoutMs, discard, ...options });
    },

    async enqueueStored(message, body) {
      if (!isQueueId(message.queueId)) throw new Error(`not a queue id: ${JSON.stringify(message.queueId)}`);
      if (body.name !== message.queueId) throw new Error(`object ${body.name} is not named after ${message.queueId}`);
      const record: QueueRecord = {
        v: recordVersion,
        ...pickMessage(message),
        body: { kind: 'object', bucket: opts.settings.bodyBucket, name: body.name, size: body.size, sha256: body.sha256, prefix: body.prefix },
      };
      const ack = await publishJob(message, encodeRecord(sealed(record), null), now() + budgetMs);
      return { queueId: message.queueId, seq: ack.seq, duplicate: ack.duplicate, bodyKind: 'object' };
    },
  };
}

function connectedNow(nc: NatsConnection): () => boolean {
  const watch = watchConnection(nc);
  return () => watch.connected;
}

// Copies only the record fields, so extra properties on the caller's object never reach the
// strict record schema (which would refuse them).
function pickMessage(m: AcceptedMessage): AcceptedMessage {
  return {
    queueId: m.queueId,
    receivedAt: m.receivedAt,
    listener: m.listener,
    client: m.client,
    envelope: m.envelope,
    ...(m.senderAuth ? { senderAuth: { spf: m.senderAuth.spf, dmarc: m.senderAuth.dmarc } } : {}),
  };
}

// The Object Store write has per-chunk timeouts only; this bounds the whole attempt. A write
// that goes on after the deadline may leave an orphan object, never a job without a body.
// A plain timer, not an aborted timers/promises sleep: aborting makes a DOMException with a
// stack on every publish (1% of the MTA's CPU under `npm run bench`, issue 15).
async function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(queueUnavailable(`no acknowledgement within ${Math.round(ms)} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
