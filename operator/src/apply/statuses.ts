// Status writes of one reconcile. Thousands of Mailboxes get their first status at
// once; a few requests in flight keep that from taking minutes without flooding the
// API server.
import type { KubeClient } from '../kube/client.ts';
import type { StatusChange } from '../status/resource-status.ts';

export async function applyStatuses(client: KubeClient, changes: readonly StatusChange[], inFlight = 16): Promise<void> {
  await inParallel(
    changes.map(
      ({ kind, namespace, name, status }) =>
        () =>
          client.applyStatus({ kind, namespace, name }, status),
    ),
    inFlight,
  );
}

/** Runs the tasks with at most `limit` in flight; the first failure is thrown after all settle. */
export async function inParallel(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      try {
        await task();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure;
}
