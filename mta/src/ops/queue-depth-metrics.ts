// Queue depth, read from JetStream when Prometheus scrapes (not on a timer), so an idle pod
// costs NATS nothing and every scrape sees fresh numbers. One scrape makes one stats read
// shared by all the gauges. When the read fails or is slow, the depth gauges read NaN for
// that scrape (a stale number or a 0 would look like a healthy queue) and
// stafette_queue_stats_up says so.
//
//   stafette_queue_stats_up                      1 when the last read succeeded
//   stafette_queue_depth_messages                jobs in the stream (queued or being delivered)
//   stafette_queue_depth_bytes                   bytes in the job stream
//   stafette_queue_pending_messages              jobs not yet handed to a delivery worker
//   stafette_queue_ack_pending_messages          jobs handed to a worker, not yet acked
//   stafette_queue_oldest_message_age_seconds    age of the oldest queued job (0 when empty)
//   stafette_queue_body_bytes                    bytes in the Object Store bucket for large bodies
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueueStats } from '../queue/index.ts';
import type { StorePressure } from '../queue/store-pressure.ts';

export interface QueueDepthOptions {
  readonly readStats: () => Promise<QueueStats>;
  /** Clock milliseconds since the epoch, for the oldest message's age. */
  readonly now: () => number;
  /** Give up on a read after this long (default 2000 ms), well inside a scrape timeout. */
  readonly timeoutMs?: number;
}

export function addQueueDepthMetrics(registry: Registry, opts: QueueDepthOptions): void {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const registers = [registry];
  // Every gauge awaits the shared read: prom-client collects all metrics concurrently.
  const collect = () => refresh();
  const up = new Gauge({ name: 'stafette_queue_stats_up', help: '1 when the queue statistics could be read for this scrape, else 0.', registers, collect });
  const depth = new Gauge({
    name: 'stafette_queue_depth_messages',
    help: 'Delivery jobs in the queue stream (queued or being delivered).',
    registers,
    collect,
  });
  const depthBytes = new Gauge({ name: 'stafette_queue_depth_bytes', help: 'Bytes stored in the queue stream.', registers, collect });
  const pending = new Gauge({ name: 'stafette_queue_pending_messages', help: 'Jobs not yet handed to any delivery worker.', registers, collect });
  const ackPending = new Gauge({
    name: 'stafette_queue_ack_pending_messages',
    help: 'Jobs handed to a delivery worker and not yet acknowledged.',
    registers,
    collect,
  });
  const oldest = new Gauge({
    name: 'stafette_queue_oldest_message_age_seconds',
    help: 'Age of the oldest job in the queue (0 when empty).',
    registers,
    collect,
  });
  const bodyBytes = new Gauge({
    name: 'stafette_queue_body_bytes',
    help: 'Bytes stored in the Object Store bucket for large message bodies.',
    registers,
    collect,
  });
  const depthGauges = [depth, depthBytes, pending, ackPending, oldest, bodyBytes];

  // The first collect() of a scrape reads; the others reuse that read until it settles.
  let read: Promise<void> | null = null;
  const refresh = () => {
    read ??= readOnce().finally(() => {
      setImmediate(() => {
        read = null;
      });
    });
    return read;
  };
  async function readOnce(): Promise<void> {
    try {
      const stats = await withTimeout(opts.readStats(), timeoutMs);
      up.set(1);
      depth.set(stats.stream.messages);
      depthBytes.set(stats.stream.bytes);
      pending.set(stats.consumer?.pending ?? stats.stream.messages);
      ackPending.set(stats.consumer?.ackPending ?? 0);
      oldest.set(stats.stream.oldest ? Math.max(0, (opts.now() - Date.parse(stats.stream.oldest)) / 1000) : 0);
      bodyBytes.set(stats.bodies?.bytes ?? 0);
    } catch {
      up.set(0);
      for (const g of depthGauges) g.set(Number.NaN);
    }
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The store's fill level as intake's admission sees it (queue/store-pressure.ts, read every few
 * seconds, not per scrape):
 *
 *   stafette_queue_store_usage_ratio{stream}   bytes / cap per capped stream (MAILQ, bodies, retry, ledger)
 *   stafette_queue_store_near_full             1 while new mail gets 452 4.3.1
 */
export function addStorePressureMetrics(registry: Registry, pressure: StorePressure): void {
  new Gauge({
    name: 'stafette_queue_store_usage_ratio',
    help: 'Bytes stored per stream divided by its cap (capped streams only).',
    labelNames: ['stream'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of pressure.usage()) if (u.capBytes > 0) this.set({ stream: u.stream }, u.bytes / u.capBytes);
    },
  });
  new Gauge({
    name: 'stafette_queue_store_near_full',
    help: '1 while the queue store is near full and intake answers 452 4.3.1 to new mail.',
    registers: [registry],
    collect() {
      this.set(pressure.nearFull() ? 1 : 0);
    },
  });
}

/** stafette_queue_orphan_bodies_collected_total: bodies deleted by the orphan collector (queue/orphan-collector.ts). */
export function orphanBodiesCounter(registry: Registry): (count: number) => void {
  const counter = new Counter({
    name: 'stafette_queue_orphan_bodies_collected_total',
    help: 'Message bodies deleted because no job or retry referred to them after the grace period.',
    registers: [registry],
  });
  return (count) => counter.inc(count);
}

/** stafette_smtp_memory_budget_used_bytes / _capacity_bytes: intake's memory budget (smtp/memory-budget.ts). */
/** Delivery's body budget (delivery/byte-budget.ts), read at each scrape. */
export function addDeliveryMemoryMetric(registry: Registry, delivery: () => { used: number; capacity: number } | null): void {
  new Gauge({
    name: 'stafette_delivery_memory_budget_used_bytes',
    help: 'Bytes of message bodies delivery holds now (its budget: stafette_delivery_memory_budget_capacity_bytes); a worker waits for room before it loads one.',
    registers: [registry],
    collect() {
      this.set(delivery()?.used ?? 0);
    },
  });
  new Gauge({
    name: 'stafette_delivery_memory_budget_capacity_bytes',
    help: 'Bytes of message bodies delivery may hold at once (--delivery-memory-budget-mib).',
    registers: [registry],
    collect() {
      this.set(delivery()?.capacity ?? 0);
    },
  });
}

export function addMemoryBudgetMetric(registry: Registry, intake: { memory(): { used: number; capacity: number } }): void {
  new Gauge({
    name: 'stafette_smtp_memory_budget_used_bytes',
    help: 'Bytes of message data intake holds now (its budget: stafette_smtp_memory_budget_capacity_bytes); beyond it 451 4.3.2.',
    registers: [registry],
    collect() {
      this.set(intake.memory().used);
    },
  });
  new Gauge({
    name: 'stafette_smtp_memory_budget_capacity_bytes',
    help: 'Bytes of message data intake may hold at once (--memory-budget-mib).',
    registers: [registry],
    collect() {
      this.set(intake.memory().capacity);
    },
  });
}
