// When the operator may reconcile: only as the leader, and only once every informer has
// listed its resources. Informer events start as soon as the first list returns, and
// 1,000 MailDomains list long before 10,000 Mailboxes do: a render started by a domain's
// event would see an empty Mailbox cache and publish a bundle without mailboxes (a
// restarted operator did exactly that at bench scale, docs/performance.md §4.3). So events
// are dropped until the gate opens, and opening it enqueues everything once, as
// controller-runtime starts its workers only after WaitForCacheSync.

export class ReconcileGate {
  private leading = false;
  private synced = false;
  private readonly enqueueEverything: () => void;

  /** `enqueueEverything` runs each time the gate opens (leader and synced). */
  constructor(enqueueEverything: () => void) {
    this.enqueueEverything = enqueueEverything;
  }

  /** Whether an event's key may go to the work queue now. */
  get open(): boolean {
    return this.leading && this.synced;
  }

  /** Whether every cache has been listed (readiness). */
  get cachesSynced(): boolean {
    return this.synced;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  cachesListed(): void {
    if (this.synced) return;
    this.synced = true;
    if (this.leading) this.enqueueEverything();
  }

  startedLeading(): void {
    if (this.leading) return;
    this.leading = true;
    if (this.synced) this.enqueueEverything();
  }

  stoppedLeading(): void {
    this.leading = false;
  }
}
