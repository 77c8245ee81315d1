// The orphan-body collector (docs/reliability.md "Limits"): every `intervalMs` (default 15 min)
// it deletes the bodies findOrphanBodies (orphan-bodies.ts) names: stored longer ago than the
// grace period (default 1 h), with no job in the queue and no retry waiting. Runs in every pod
// that delivers; two pods deleting the same orphan is harmless (a delete is idempotent), and
// the grace period is what keeps a body whose job is still being published. Counted in
// stafette_queue_orphan_bodies_collected_total.
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../observability/logger.ts';
import { deleteBody, findOrphanBodies } from './orphan-bodies.ts';
import type { QueueSettings } from './settings.ts';

export const defaultOrphanIntervalMs = 15 * 60_000;
export const defaultOrphanGraceMs = 3_600_000;

export interface OrphanCollector {
  /** One pass now; resolves to the number of bodies deleted. */
  collect(): Promise<number>;
  stop(): void;
}

export function startOrphanCollector(opts: {
  nc: NatsConnection;
  settings: QueueSettings;
  bodyStore: ObjectStore;
  logger: Logger;
  /** Called with the number deleted after each pass. */
  collected?: (count: number) => void;
  intervalMs?: number;
  graceMs?: number;
  now?: () => number;
}): OrphanCollector {
  let running: Promise<number> | null = null;
  const pass = async (): Promise<number> => {
    const orphans = await findOrphanBodies({
      nc: opts.nc,
      settings: opts.settings,
      bodyStore: opts.bodyStore,
      minAgeMs: opts.graceMs ?? defaultOrphanGraceMs,
      ...(opts.now ? { now: opts.now } : {}),
    });
    let deleted = 0;
    for (const orphan of orphans) {
      try {
        await deleteBody(opts.bodyStore, orphan.name);
        deleted++;
        opts.logger.info('orphaned body deleted', { name: orphan.name, size: orphan.size, storedAt: orphan.storedAt });
      } catch (err) {
        opts.logger.warn('deleting an orphaned body failed', { name: orphan.name, error: err });
      }
    }
    opts.collected?.(deleted);
    return deleted;
  };
  const collect = async () => {
    // One pass at a time per process.
    running ??= pass().finally(() => (running = null));
    return await running;
  };
  const timer = setInterval(
    () => void collect().catch((err: unknown) => opts.logger.warn('the orphan-body pass failed', { error: err })),
    opts.intervalMs ?? defaultOrphanIntervalMs,
  );
  timer.unref();
  return { collect, stop: () => clearInterval(timer) };
}
