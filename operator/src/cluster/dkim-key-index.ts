// The DKIM keys that exist in the cluster, read from the operator's Secrets. A key is
// trusted only when its Secret is owned by the MailDomain that serves its domain, so a
// Secret someone else labels as a DKIM key can never sign for a domain.
//
// With a thousand domains every render and every domain reconcile asks for keys, so the
// Secrets are grouped by domain once per change of the Secret cache, and each key is
// parsed once per Secret version rather than on every request.
import type { MailDomain } from '../../../crds/src/index.ts';
import { dkimKeyFromSecret, retiringAnnotation, type StoredDkimKey } from '../children/dkim-secret.ts';
import { domainLabel } from '../children/owner.ts';
import type { SecretObject } from '../render/input.ts';

export type ClusterDkimKey = StoredDkimKey & { retiringSince?: string; ownerUids: string[] };

/** A Secret as the informer caches it, with the metadata that says who owns it. */
export type CachedSecret = SecretObject & {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string }[];
    uid?: string;
    resourceVersion?: string;
  };
};

export class DkimKeyIndex {
  private byDomain: Map<string, ClusterDkimKey[]> | null = null;
  private parsed = new Map<string, StoredDkimKey | null>();
  private readonly secrets: () => CachedSecret[];

  constructor(secrets: () => CachedSecret[]) {
    this.secrets = secrets;
  }

  /** Call when a Secret with the domain label changed. */
  invalidate(): void {
    this.byDomain = null;
  }

  keysOf(domain: MailDomain): ClusterDkimKey[] {
    this.byDomain ??= this.build();
    const keys = this.byDomain.get(`${domain.metadata.namespace}/${domain.metadata.name}`) ?? [];
    return keys.filter((k) => k.domain === domain.spec.domain && k.ownerUids.includes(domain.metadata.uid ?? ''));
  }

  private build(): Map<string, ClusterDkimKey[]> {
    const out = new Map<string, ClusterDkimKey[]>();
    const parsed = new Map<string, StoredDkimKey | null>();
    for (const secret of this.secrets()) {
      const meta = secret.metadata;
      const owner = meta.labels?.[domainLabel];
      if (!owner) continue;
      const version = `${meta.namespace}/${meta.name}/${meta.uid ?? ''}/${meta.resourceVersion ?? ''}`;
      const key = this.parsed.has(version) ? (this.parsed.get(version) ?? null) : dkimKeyFromSecret(secret);
      parsed.set(version, key);
      if (!key) continue;
      const group = `${meta.namespace}/${owner}`;
      const entry: ClusterDkimKey = {
        ...key,
        retiringSince: meta.annotations?.[retiringAnnotation],
        ownerUids: (meta.ownerReferences ?? []).map((o) => o.uid),
      };
      out.set(group, [...(out.get(group) ?? []), entry]);
    }
    this.parsed = parsed;
    return out;
  }
}
