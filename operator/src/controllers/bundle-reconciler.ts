// The bundle reconcile: one render() over every resource in the watched namespaces,
// the bundle written when its content changed, and the status of every Mailbox and
// Relay patched when it changed. Domains get their status from the domain reconciler,
// which is told here when what render found about a domain changed.
import type { Logger } from '../../../mta/src/ops/logger.ts';
import { bundleObjects, revisionAnnotation, type BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import { refOf } from '../render/context.ts';
import type { RenderIssue } from '../render/issues.ts';
import { render, type RenderResult } from '../render/render.ts';
import { sameStatus } from '../status/conditions.ts';
import { simpleStatus } from '../status/resource-status.ts';
import { live, type ClusterState } from '../cluster/cluster-state.ts';
import { PasswordHashCache } from '../passwords/password-cache.ts';
import { hashDigest, passwordIndexObject, readPasswordIndex } from '../passwords/password-index.ts';

export interface BundleReconcilerOptions {
  state: ClusterState;
  client: KubeClient;
  target: BundleTarget;
  now: () => Date;
  logger: Logger;
  /** Called with the keys of domains whose render data changed. */
  domainsChanged: (keys: string[]) => void;
  onBundleWritten?: (revision: string) => void;
}

export function issuesByResource(issues: RenderIssue[]): Map<string, RenderIssue[]> {
  const out = new Map<string, RenderIssue[]>();
  for (const i of issues) {
    const key = `${i.kind}/${i.namespace}/${i.name}`;
    out.set(key, [...(out.get(key) ?? []), i]);
  }
  return out;
}

export function createBundleReconciler(options: BundleReconcilerOptions): () => Promise<void> {
  const { state, client, target, logger } = options;
  let writtenRevision: string | null = null;
  let domainFingerprints = new Map<string, string>();
  let passwords: PasswordHashCache | null = null;
  let writtenIndex = '';
  /** address → fingerprint of the password hashed for it in the latest render. */
  let fingerprints = new Map<string, string>();

  // A restarted operator takes over the hashes of the bundle in place, so it neither
  // re-hashes every password nor rewrites an unchanged bundle.
  const loadPasswordIndex = async (): Promise<PasswordHashCache> => {
    const { index, seeds } = await readPasswordIndex(client, target);
    const cache = new PasswordHashCache(index?.key);
    cache.seed(seeds);
    if (index) writtenIndex = JSON.stringify(Object.entries(index.entries).sort());
    else await client.apply(passwordIndexObject(target, { key: cache.key, entries: {} })); // the key first, before any hash made with it
    return cache;
  };

  /** Writes the bundle's objects, skipping those a previous (perhaps interrupted) write already brought to this revision. */
  const writeBundle = async (result: RenderResult): Promise<number> => {
    const { configMap, secrets } = bundleObjects(result, target);
    let written = 0;
    // Secrets first: a ConfigMap of a new revision must never refer to keys the MTA cannot see yet.
    for (const object of [...secrets, configMap]) {
      const current = await client.get({ apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name });
      if (current?.metadata.annotations?.[revisionAnnotation] === result.bundle.revision) continue;
      await client.apply(object);
      written += 1;
    }
    return written;
  };

  const renderNow = async (): Promise<RenderResult> => {
    passwords ??= await loadPasswordIndex();
    const cache = passwords;
    const domains = live(state.domains.list());
    const input = {
      domains,
      mailboxes: live(state.mailboxes.list()),
      relays: live(state.relays.list()),
      secrets: state.secrets.list(),
      dkimKeys: domains.flatMap((d) => state.dkimKeys.keysOf(d)),
    };
    // First pass finds the passwords without a cached hash; they are hashed off the
    // event loop, and the second pass renders with all of them.
    const misses = new Map<string, { address: string; password: string }>();
    const used = new Map<string, string>();
    // Fingerprints are recorded by address; render calls this once per mailbox with a password.
    const lookup = (address: string, password: string) => {
      used.set(address, cache.fingerprintOf(address, password));
      return cache.lookup(address, password, misses) ?? '$pending';
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      await cache.fill(misses);
      result = render({ ...input, hashPassword: lookup });
    }
    cache.retain(new Set(used.values()));
    fingerprints = used;
    return result;
  };

  return async function reconcileBundle() {
    const result = await renderNow();
    state.lastRender = result;

    if (writtenRevision !== result.bundle.revision) {
      const written = await writeBundle(result);
      writtenRevision = result.bundle.revision;
      if (written > 0) {
        logger.info('bundle written', { revision: result.bundle.revision, objects: written, domains: result.bundle.domains.length, mailboxes: result.bundle.mailboxes.length });
        options.onBundleWritten?.(result.bundle.revision);
      }
    }
    const entries = Object.fromEntries(Object.entries(result.secrets.passwords).flatMap(([address, hash]) => {
      const fp = fingerprints.get(address);
      return fp ? [[address, `${fp}:${hashDigest(hash)}`]] : [];
    }));
    const index = JSON.stringify(Object.entries(entries).sort());
    if (index !== writtenIndex && passwords) {
      await client.apply(passwordIndexObject(target, { key: passwords.key, entries }));
      writtenIndex = index;
    }

    const issues = issuesByResource(result.issues);
    const now = options.now();
    const updates: (() => Promise<void>)[] = [];
    for (const [kind, objects] of [['Mailbox', state.mailboxes.list()], ['Relay', state.relays.list()]] as const) {
      for (const object of live(objects as { metadata: { name: string; namespace?: string; generation?: number; deletionTimestamp?: string }; status?: unknown }[])) {
        const ref = refOf(kind, object.metadata as never);
        const current = object.status as { conditions?: never[] } | undefined;
        const status = simpleStatus({ namespace: ref.namespace, name: ref.name, generation: object.metadata.generation, status: current }, issues.get(`${kind}/${ref.namespace}/${ref.name}`) ?? [], now);
        if (!sameStatus(current, status)) {
          updates.push(() => client.applyStatus({ kind, namespace: ref.namespace, name: ref.name }, status));
        }
      }
    }
    // Thousands of Mailboxes get their first status at once; a few requests in flight
    // keep that from taking minutes without flooding the API server.
    await inParallel(updates, 16);

    const domainData = new Map<string, string>();
    for (const d of live(state.domains.list())) {
      const ref = refOf('MailDomain', d.metadata);
      const key = `${ref.namespace}/${ref.name}`;
      const report = result.domains.find((r) => r.namespace === ref.namespace && r.name === ref.name);
      domainData.set(key, JSON.stringify([issues.get(`MailDomain/${key}`) ?? [], report ?? null]));
    }
    const changed = [...domainData].filter(([k, data]) => domainFingerprints.get(k) !== data).map(([k]) => k);
    domainFingerprints = domainData;
    if (changed.length > 0) options.domainsChanged(changed);
  };
}


/** Runs the tasks with at most `limit` in flight; the first failure is thrown after all settle. */
export async function inParallel(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      try {
        await task();
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
}
