// A keyed work queue with the semantics of client-go's rate-limited workqueue, which
// the sample-controller builds on:
//   - keys, not objects: adding a key that is already waiting does nothing (dedupe);
//   - one reconcile in flight per key: a key added while it is being processed is run
//     again once, after the current run finishes (so no change is ever missed);
//   - failures are retried with per-key exponential backoff (base × 2^failures, capped),
//     and forget() resets a key's backoff after a success.
// Reconciles run concurrently across keys up to `workers`. Time is injected.

export interface WorkQueueOptions {
  workers: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected timers, for tests. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
}

export type Reconcile = (key: string) => Promise<void>;

export interface WorkQueueStats {
  /** Keys waiting to run (not in flight). */
  depth: number;
  inFlight: number;
  /** Keys waiting for a backoff timer. */
  retrying: number;
}

/** The longest delay setTimeout keeps (2^31 - 1 ms, about 24.8 days); it runs a longer one after 1 ms. */
const maxTimerMs = 2 ** 31 - 1;

export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly order: string[] = [];
  private readonly inFlight = new Set<string>();
  private readonly dirtyWhileRunning = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { handle: unknown; due: number }>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly reconcile: Reconcile;
  private readonly options: Required<WorkQueueOptions>;
  private readonly onError: (key: string, error: unknown, retryInMs: number) => void;

  constructor(reconcile: Reconcile, options: WorkQueueOptions, onError: (key: string, error: unknown, retryInMs: number) => void = () => {}) {
    this.reconcile = reconcile;
    this.onError = onError;
    this.options = {
      baseDelayMs: 200,
      maxDelayMs: 5 * 60_000,
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
      now: () => Date.now(),
      ...options,
    };
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.inFlight.has(key)) {
      this.dirtyWhileRunning.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Adds the key after its backoff delay; the delay doubles with each consecutive failure. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /**
   * Adds the key after a delay; of several delays asked for one key, the earliest wins. A delay
   * longer than a timer can hold (the SRS rotation's, up to 30 days) waits in steps.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const due = this.options.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.due <= due) return;
    if (pending) this.options.clearTimer(pending.handle);
    const wait = Math.min(delayMs, maxTimerMs);
    const handle = this.options.setTimer(() => {
      this.timers.delete(key);
      if (wait < delayMs) this.addAfter(key, due - this.options.now());
      else this.add(key);
    }, wait);
    this.timers.set(key, { handle, due });
  }

  /** Clears a key's failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  stats(): WorkQueueStats {
    return { depth: this.waiting.size, inFlight: this.inFlight.size, retrying: this.timers.size };
  }

  /** Resolves when nothing is waiting or running (timers for retries may still be set). */
  async idle(): Promise<void> {
    if (this.waiting.size === 0 && this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work; resolves when reconciles in flight have finished. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { handle } of this.timers.values()) this.options.clearTimer(handle);
    this.timers.clear();
    this.waiting.clear();
    this.order.length = 0;
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight.size < this.options.workers && this.order.length > 0) {
      const key = this.order.shift() as string;
      if (!this.waiting.delete(key)) continue;
      this.inFlight.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.reconcile(key);
    } catch (error) {
      this.inFlight.delete(key);
      const delay = this.addRateLimited(key);
      this.onError(key, error, delay);
    } finally {
      this.inFlight.delete(key);
      if (this.dirtyWhileRunning.delete(key)) this.add(key);
      this.pump();
      if (this.waiting.size === 0 && this.inFlight.size === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
