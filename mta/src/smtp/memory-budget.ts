// The intake's memory budget (docs/reliability.md "Limits"): bytes of message data held in
// memory by this process's DATA transactions, counted as they arrive: twice for a message held
// whole (the chunks read and the stored copy built from them, data-intake.ts), once for a chunk
// of a large message on its way to the Object Store (body-streaming.ts). Beyond the budget a
// transaction stops keeping data (it reads and drops the rest) and is answered 451 4.3.2 after
// the dot; a MAIL whose SIZE= would hold more than is left is answered 451 4.3.2 at once. The
// process holds at most the budget plus one chunk per session, however many clients send at once.
/** Default budget per process: 256 MiB (`--memory-budget`, chart mta.memoryBudgetMiB). */
export const defaultMemoryBudgetBytes = 256 * 1024 * 1024;

/** How many bytes of memory one byte of message data costs while intake holds it. */
export const bytesPerDataByte = 2;

export interface MemoryBudget {
  readonly capacity: number;
  /** Bytes reserved now. */
  used(): number;
  /** Reserves `bytes` if they fit; false (nothing reserved) if not. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
  /** Whether `bytes` would fit now (no reservation). */
  fits(bytes: number): boolean;
}

export function createMemoryBudget(capacity: number = defaultMemoryBudgetBytes): MemoryBudget {
  let used = 0;
  return {
    capacity,
    used: () => used,
    fits: (bytes) => used + bytes <= capacity,
    tryReserve(bytes) {
      if (used + bytes > capacity) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used = Math.max(0, used - bytes);
    },
  };
}

/** No budget (unit tests, tools): everything fits. */
export const unlimitedMemoryBudget: MemoryBudget = createMemoryBudget(Number.POSITIVE_INFINITY);
