// Whether this pod should receive SMTP connections now (the /readyz probe). Not ready while
// the queue cannot store mail (senders go to another pod or retry, instead of getting 451
// here), before the first valid bundle is in force, and from the moment shutdown begins (so
// the Service stops routing to a pod that is about to close its listeners).
import type { ReadinessState } from '../../../observability/ops-server.ts';
import type { QueueReadinessState } from '../queue/index.ts';

export interface PodReadinessOptions {
  /** Probes the queue; never throws (createQueueReadiness().check). */
  readonly checkQueue: () => Promise<QueueReadinessState>;
  /** Whether a configuration bundle is in force. */
  readonly hasBundle: () => boolean;
  /** Told the queue's state after each probe (for the stafette_queue_ready gauge). */
  readonly onQueueState?: (ready: boolean) => void;
}

export interface PodReadiness {
  check(): Promise<ReadinessState>;
  /** Shutdown has begun: not ready from now on, whatever the queue says. */
  beginShutdown(): void;
  readonly shuttingDown: boolean;
}

export function createPodReadiness(opts: PodReadinessOptions): PodReadiness {
  let shuttingDown = false;
  return {
    get shuttingDown() {
      return shuttingDown;
    },
    beginShutdown() {
      shuttingDown = true;
    },
    async check() {
      const reasons: string[] = [];
      if (shuttingDown) reasons.push('shutting down');
      if (!opts.hasBundle()) reasons.push('no valid configuration bundle loaded yet');
      const queue = await opts.checkQueue();
      opts.onQueueState?.(queue.ready);
      if (!queue.ready) reasons.push(`queue unavailable: ${queue.reason ?? 'unknown reason'}`);
      return { ready: reasons.length === 0, reasons };
    },
  };
}
