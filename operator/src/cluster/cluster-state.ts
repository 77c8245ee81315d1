// What the reconcilers read of the cluster: the informers' caches of the watched
// resources, and the DKIM keys among the cached Secrets.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MailDomain, Mailbox, Relay } from '../../../crds/src/index.ts';
import type { WatchedResource } from '../kube/informer.ts';
import type { RenderInput } from '../render/input.ts';
import type { CachedSecret, DkimKeyIndex } from './dkim-key-index.ts';

export type Watched<T> = Pick<WatchedResource<T & KubernetesObject>, 'list' | 'get'>;

export interface ClusterState {
  domains: Watched<MailDomain>;
  mailboxes: Watched<Mailbox>;
  relays: Watched<Relay>;
  secrets: Watched<CachedSecret>;
  /** The DKIM keys in the Secret cache, grouped by MailDomain. */
  dkimKeys: DkimKeyIndex;
}

export function live<T extends { metadata: { deletionTimestamp?: string } }>(objects: T[]): T[] {
  return objects.filter((o) => !o.metadata.deletionTimestamp);
}

/** What render() reads: the resources not being deleted, every Secret, and the DKIM keys of those domains. */
export function renderInputOf(state: ClusterState): Omit<RenderInput, 'hashPassword'> {
  const domains = live(state.domains.list());
  return {
    domains,
    mailboxes: live(state.mailboxes.list()),
    relays: live(state.relays.list()),
    secrets: state.secrets.list(),
    dkimKeys: domains.flatMap((d) => state.dkimKeys.keysOf(d)),
  };
}
