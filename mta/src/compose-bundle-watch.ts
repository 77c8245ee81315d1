// Part of the MTA's composition (main.ts): waiting for the first configuration bundle and
// logging what the bundle watcher reports (config/watch-bundle.ts).
import type { Logger } from '../../observability/logger.ts';
import type { BundleEvent } from './config/watch-bundle.ts';

// At start the mount may not be there yet (or be half-updated): re-check twice a second.
//
// By default there is no deadline: in Kubernetes the first bundle appears only at the
// kubelet's next sync of the pod after the operator's first write, up to about 1.5 times the
// kubelet's syncFrequency later (90 s with its default 1m; docs/architecture.md §5 "How fast
// a change reaches the pods"). Giving up earlier only made the kubelet restart the container,
// which it counts as a crash; waiting keeps the pod live and not ready, with /readyz saying
// why (docs/architecture.md §6). `progress` is called every `progressEveryMs` of the wait.
export async function waitForFirstBundle(
  loaded: () => boolean,
  recheck: () => void,
  now: () => number,
  timeoutMs: number = Number.POSITIVE_INFINITY,
  progress: (waitedMs: number) => void = () => {},
  progressEveryMs = 30_000,
): Promise<void> {
  const started = now();
  let reported = started;
  while (!loaded() && now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    recheck();
    if (!loaded() && now() - reported >= progressEveryMs) {
      reported = now();
      progress(reported - started);
    }
  }
}

export function logBundleEvent(logger: Logger, event: BundleEvent): void {
  switch (event.kind) {
    case 'applied':
      logger.info('configuration bundle applied', { revision: event.revision, previous: event.previous });
      break;
    case 'refused':
      logger.error('configuration bundle refused; keeping the last good one', { errors: event.errors, keeping: event.keeping });
      break;
    case 'waiting':
      logger.info('configuration bundle half-updated; waiting for the other part', { reason: event.reason, keeping: event.keeping });
      break;
  }
}
