// What the controllers read: the informers' caches of the watched resources, and the
// latest render, which the bundle reconciler writes and the domain reconciler reads.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MailDomain, Mailbox, Relay } from '../../../crds/src/index.ts';
import type { CachedSecret, DkimKeyIndex } from '../dkim/key-index.ts';
import type { WatchedResource } from '../kube/informer.ts';
import type { RenderResult } from '../render/render.ts';

export type Watched<T> = Pick<WatchedResource<T & KubernetesObject>, 'list' | 'get'>;

export interface ClusterState {
  domains: Watched<MailDomain>;
  mailboxes: Watched<Mailbox>;
  relays: Watched<Relay>;
  secrets: Watched<CachedSecret>;
  /** The DKIM keys in the Secret cache, grouped by MailDomain. */
  dkimKeys: DkimKeyIndex;
  /** The last render, or null before the first one. */
  lastRender: RenderResult | null;
}

export function live<T extends { metadata: { deletionTimestamp?: string } }>(objects: T[]): T[] {
  return objects.filter((o) => !o.metadata.deletionTimestamp);
}
