// The DKIM keys that exist in the cluster, read from the operator's Secrets. A key is
// trusted only when its Secret is owned by the MailDomain that serves its domain, so a
// Secret someone else labels as a DKIM key can never sign for a domain.
//
// With a thousand domains every render and every domain reconcile asks for keys, so the
// Secrets are grouped by domain once, from the cache, and then kept up to date one Secret
// at a time: each Secret event re-reads that Secret alone from the cache (changed()). A
// rebuild from every cached Secret per event made 1,000 new keys cost a million Secret
// visits (issue 15). A key's PEM is parsed once per Secret's data, not per version: the
// operator's own annotation writes (Published → Signing) change only its state.
import type { MailDomain } from '../../../crds/src/index.ts';
import { dkimKeyFromSecret, dkimKeyStateOf, retiringAnnotation, type StoredDkimKey } from '../children/dkim-secret.ts';
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

/** Where the index reads Secrets: the whole cache (once), and one Secret by name (per event). */
export interface SecretCache {
  list(): CachedSecret[];
  get(namespace: string, name: string): CachedSecret | undefined;
}

interface Indexed {
  /** "namespace/owner": the MailDomain its label names. */
  group: string;
  key: ClusterDkimKey;
}

export class DkimKeyIndex {
  /** group → Secret name → key; null until first asked. */
  private byDomain: Map<string, Map<string, ClusterDkimKey>> | null = null;
  /** "namespace/name" of each indexed Secret → its entry. */
  private readonly entries = new Map<string, Indexed>();
  /** "namespace/name" → the parsed key and what it was parsed from (uid and the data's values). */
  private readonly parsed = new Map<string, { from: string; key: StoredDkimKey | null }>();
  private readonly cache: SecretCache;

  constructor(cache: SecretCache) {
    this.cache = cache;
  }

  /** Call on every Secret event (added, updated or deleted): the index re-reads that Secret from the cache. */
  changed(namespace: string, name: string): void {
    if (!this.byDomain) return;
    const id = `${namespace}/${name}`;
    const old = this.entries.get(id);
    if (old) {
      this.byDomain.get(old.group)?.delete(name);
      this.entries.delete(id);
    }
    const secret = this.cache.get(namespace, name);
    if (secret) this.add(secret);
    else this.parsed.delete(id);
  }

  /** The keys of the domain, ordered by selector (a status lists them in this order). */
  keysOf(domain: MailDomain): ClusterDkimKey[] {
    if (!this.byDomain) {
      this.byDomain = new Map();
      for (const secret of this.cache.list()) this.add(secret);
    }
    const keys = this.byDomain.get(`${domain.metadata.namespace}/${domain.metadata.name}`);
    if (!keys) return [];
    return [...keys.values()]
      .filter((k) => k.domain === domain.spec.domain && k.ownerUids.includes(domain.metadata.uid ?? ''))
      .sort((a, b) => (a.selector < b.selector ? -1 : a.selector > b.selector ? 1 : a.secretName < b.secretName ? -1 : 1));
  }

  private add(secret: CachedSecret): void {
    const meta = secret.metadata;
    const owner = meta.labels?.[domainLabel];
    if (!owner || !this.byDomain) return;
    const id = `${meta.namespace}/${meta.name}`;
    const from = JSON.stringify([meta.uid, ...['private.pem', 'domain', 'selector'].flatMap((k) => [secret.data?.[k], secret.stringData?.[k]])]);
    let parsed = this.parsed.get(id);
    if (parsed?.from !== from) {
      parsed = { from, key: dkimKeyFromSecret(secret) };
      this.parsed.set(id, parsed);
    }
    if (!parsed.key) return;
    const key: ClusterDkimKey = {
      ...parsed.key,
      ...dkimKeyStateOf(secret),
      retiringSince: meta.annotations?.[retiringAnnotation],
      ownerUids: (meta.ownerReferences ?? []).map((o) => o.uid),
    };
    const group = `${meta.namespace}/${owner}`;
    let keys = this.byDomain.get(group);
    if (!keys) this.byDomain.set(group, (keys = new Map<string, ClusterDkimKey>()));
    keys.set(meta.name, key);
    this.entries.set(id, { group, key });
  }
}
