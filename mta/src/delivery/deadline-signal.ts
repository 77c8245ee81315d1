// A signal for one bounded piece of work: it aborts when `parent` does (shutdown) or after
// `ms`, and dispose() clears its timer and its listener on the parent once the work is done.
// AbortSignal.any([parent, AbortSignal.timeout(ms)]) keeps the timer (and through it the
// signals) alive until it fires, `ms` later, whether the work took 5 ms or not: under load
// that was every message of the last attempt timeout in memory (issue 15, heap snapshots of
// `npm run bench`: Timeout and AbortSignal objects grew by two per delivered message).

export interface DeadlineSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function deadlineSignal(parent: AbortSignal, ms: number, schedule: typeof setTimeout = setTimeout): DeadlineSignal {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onParentAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = schedule(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
  timer.unref?.();
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
