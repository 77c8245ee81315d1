// Large messages leave memory during DATA (docs/reliability.md "Limits"). A message is held
// whole, as before, until it passes the stream threshold with its header section complete;
// from then on the held chunks and every later one go to an Object Store object named after
// the queue id (queue/body-stream.ts) as they arrive. The checks still see what they need:
// the inbound checks (DKIM, SPF, DMARC, ARC) are fed every chunk as a stream anyway
// (message-checks.ts), the header senders of submission read the header section, which is in
// the held chunks, and our header fields (Received, Authentication-Results, Date, Message-ID),
// known only after the end of DATA, travel in the record as the body's prefix (queue/record.ts).
// The spam filter (rspamd) reads the whole message after DATA, so a message it will check is
// held whole (and counted against the budget) as before.
//
// 250 still means stored: the reply waits for the object's last chunk and metadata PubAcks
// (BodyStream.end()) and then for the job's PubAck (publisher.enqueueStored()). A refusal before
// the object is complete aborts the write, which removes its chunks (and the object, should its
// metadata be written); once complete the object stays whatever the job's publish reports (a
// timed-out publish may still have stored the job), and the orphan collector
// (queue/orphan-collector.ts) removes it if no job names it, as for a pod that dies in between.
//
// Memory: a held chunk counts bytesPerDataByte times against the budget (memory-budget.ts), a
// streamed chunk once, from its arrival until the Object Store write takes it; the write
// itself holds at most one 128 KiB object chunk more per message.
import { describeError } from '../errors.ts';
import { classifyPublishFailure, queueUnavailable } from '../queue/errors.ts';
import { localError } from '../policy/rejections.ts';
import { isQueueError, type AcceptedMessage, type QueuePublisher, type StoredBodyObject } from '../queue/index.ts';
import { queueRefusal, type StreamedBody } from './data-intake.ts';
import { bytesPerDataByte, type MemoryBudget } from './memory-budget.ts';

/** Past this many bytes (1 MiB, the default NATS max_payload) a message is streamed. */
export const defaultStreamThresholdBytes = 1024 * 1024;

/** One DATA transaction's share of the memory budget. */
export interface DataReservation {
  /** A chunk held in memory until the end of DATA (counted bytesPerDataByte times). */
  reserveHeld(bytes: number): boolean;
  /** A chunk on its way to the Object Store (counted once). */
  reserveStreamed(bytes: number): boolean;
  /** The Object Store write took a streamed chunk. */
  releaseStreamed(bytes: number): void;
  releaseAll(): void;
}

export function createDataReservation(budget: MemoryBudget | undefined): DataReservation {
  let reserved = 0;
  const take = (bytes: number): boolean => {
    if (!budget) return true;
    if (!budget.tryReserve(bytes)) {
      // This message is refused and drops its chunks: give its share back to the others now.
      release();
      return false;
    }
    reserved += bytes;
    return true;
  };
  const release = () => {
    budget?.release(reserved);
    reserved = 0;
  };
  return {
    reserveHeld: (bytes) => take(bytes * bytesPerDataByte),
    reserveStreamed: (bytes) => take(bytes),
    releaseStreamed(bytes) {
      const n = Math.min(bytes, reserved);
      budget?.release(n);
      reserved -= n;
    },
    releaseAll: release,
  };
}

/**
 * Ends the streamed body: resolves once the last chunk and the object's metadata are
 * acknowledged and the digest matches, or rejects with the SmtpError to send (451 4.3.0, or
 * 452 4.3.1 when the bucket is full). From then on the object must stay even if the job's
 * publish reports a failure: a timed-out publish may still have stored the job, and a job
 * without its body would lose the mail; an object nobody names is the orphan collector's.
 */
export async function finishStreamed(streamed: StreamedBody, queueId: string): Promise<StoredBodyObject> {
  try {
    return await streamed.end();
  } catch (err) {
    if (isQueueError(err)) throw queueRefusal(err);
    // The Object Store write failed: classified as a publish failure is (a full bucket is 452).
    const verdict = classifyPublishFailure(err);
    throw queueRefusal(verdict.action === 'fail' ? verdict.error : queueUnavailable(`storing the body of ${queueId}: ${describeError(err)}`, err));
  }
}

/** Publishes the job of a stored streamed body; the bytes delivery will send (prefix included). */
export async function enqueueStreamed(
  publisher: Pick<QueuePublisher, 'enqueueStored'>,
  message: AcceptedMessage,
  object: StoredBodyObject,
  prefix: string,
): Promise<number> {
  try {
    await publisher.enqueueStored(message, { ...object, prefix });
  } catch (err) {
    throw isQueueError(err) ? queueRefusal(err) : localError(`enqueue of ${message.queueId} failed unexpectedly`, err);
  }
  return object.size + Buffer.byteLength(prefix, 'utf8');
}
