// Which informer events can change what the operator does. A MailDomain, Mailbox or Relay
// has a status subresource, so its metadata.generation moves only when its spec does; an
// update that leaves generation, labels, annotations, owners, finalizers and deletion alone
// is a status write, nearly always the operator's own. Rendering again for each of those
// re-rendered 10,000 Mailboxes back to back while their first statuses were written
// (docs/performance.md §4.3). controller-runtime's GenerationChangedPredicate makes the same
// trade: a status someone else overwrote is put right at the next real change or relist
// of a changed object, not at once.
import type { KubernetesObject } from '@kubernetes/client-node';

/** What of an object's metadata the operator reads besides its spec (which generation covers). */
export function specFingerprint(object: KubernetesObject): string {
  const m = object.metadata ?? {};
  return JSON.stringify([
    m.uid ?? null,
    m.generation ?? null,
    m.deletionTimestamp ?? null,
    m.labels ?? null,
    m.annotations ?? null,
    (m.ownerReferences ?? []).map((o) => o.uid),
    m.finalizers ?? null,
  ]);
}

export class SpecChanges {
  private readonly seen = new Map<string, string>();

  /** Whether the event may change a render or a reconcile: false for a status-only update. */
  changed(object: KubernetesObject, verb: 'add' | 'update' | 'delete'): boolean {
    const key = `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
    if (verb === 'delete') {
      this.seen.delete(key);
      return true;
    }
    const fingerprint = specFingerprint(object);
    const before = this.seen.get(key);
    this.seen.set(key, fingerprint);
    return before !== fingerprint;
  }
}
