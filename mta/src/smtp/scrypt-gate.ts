// At most `concurrency` password verifications (32 MiB scrypt each, on libuv's thread pool,
// which maildir writes and DNS share) at once in this pod; `queue` more may wait, beyond that
// AUTH gets 454 4.7.0 at once (policy/shared-limits.ts authBusy). docs/reliability.md §1.
export interface ScryptGate {
  /** Runs `work` when a slot is free; null when the queue is full (nothing run). */
  run<T>(work: () => Promise<T>): Promise<T> | null;
}

export function createScryptGate(concurrency: number, queue: number): ScryptGate {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return {
    run(work) {
      if (running >= concurrency && waiting.length >= queue) return null;
      const start = async () => {
        running++;
        try {
          return await work();
        } finally {
          release();
        }
      };
      if (running < concurrency) return start();
      return new Promise<void>((resolve) => waiting.push(resolve)).then(start);
    },
  };
}
