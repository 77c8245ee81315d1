// Delivery's memory budget (docs/reliability.md "Limits"): the bodies the workers of one
// process hold at once, in bytes (a body is held whole while its groups are attempted, and
// transports may copy it: `bytesPerBodyByte` per byte; a streamed body counts
// `streamedBodyBytes` per destination instead). A worker waits for room before it
// loads a body, so concurrency is sized by bytes, not only by the worker count: 32 workers
// with 100 MiB messages do not hold 3 GiB. A body larger than the whole budget runs alone.
/** Default per process: 256 MiB (`defaultDeliveryMemoryBytes`; StartDeliveryOptions.memoryBudgetBytes). */
export const defaultDeliveryMemoryBytes = 256 * 1024 * 1024;
/** Bytes of memory one body byte costs during an attempt (the body, and a transport's copy). */
export const bytesPerBodyByte = 2;
/**
 * A streamed body (engine.ts, transport/streamed-message.ts) is not held: what one destination
 * holds of it is a few Object Store chunks (128 KiB each) in the reader, the CRLF and
 * dot-stuffing streams and the socket's buffers. Counted as 1 MiB per destination, so
 * 256 MiB lets the 32 + 16 workers all stream at once.
 */
export const streamedBodyBytes = 1024 * 1024;
/** Object Store bodies from this size on are streamed where the transports can (default; StartDeliveryOptions.streamFromBytes). */
export const defaultStreamFromBytes = 1024 * 1024;

export interface ByteBudget {
  /** Waits until `bytes` fit (or nothing else is held), then holds them; call the result to give them back. */
  acquire(bytes: number, signal?: AbortSignal): Promise<() => void>;
  used(): number;
}

export function createByteBudget(capacity: number = defaultDeliveryMemoryBytes): ByteBudget {
  let used = 0;
  const waiting: { bytes: number; wake: () => void }[] = [];
  const fits = (bytes: number) => used === 0 || used + bytes <= capacity;
  const wakeNext = () => {
    // First come, first served: a large body is not overtaken forever by small ones.
    while (waiting.length > 0 && fits(waiting[0]!.bytes)) {
      const next = waiting.shift()!;
      used += next.bytes;
      next.wake();
    }
  };
  const holder = (bytes: number) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      used -= bytes;
      wakeNext();
    };
  };
  return {
    used: () => used,
    async acquire(bytes, signal) {
      if (waiting.length === 0 && fits(bytes)) {
        used += bytes;
        return holder(bytes);
      }
      await new Promise<void>((resolve, reject) => {
        // The signal is the job's, i.e. the process's shutdown signal, which lives as long as
        // the process: a woken waiter takes its abort listener off it, or every wait would
        // stay in memory until shutdown.
        const onAbort = () => {
          const i = waiting.indexOf(entry);
          if (i >= 0) {
            waiting.splice(i, 1);
            reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
          }
        };
        const entry = {
          bytes,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        waiting.push(entry);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      return holder(bytes);
    },
  };
}
