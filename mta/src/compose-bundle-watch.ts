// Part of the MTA's composition (main.ts): waiting for the first configuration bundle and
// logging what the bundle watcher reports (config/watch-bundle.ts).
import type { Logger } from '../../observability/logger.ts';
import type { BundleEvent } from './config/watch-bundle.ts';

// At start the mount may not be there yet (or be half-updated): re-check twice a second.
export async function waitForFirstBundle(loaded: () => boolean, recheck: () => void, now: () => number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!loaded() && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    recheck();
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
