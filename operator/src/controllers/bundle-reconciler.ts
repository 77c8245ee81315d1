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
import { live, type ClusterState } from './cluster-state.ts';
import { keysOf } from './dkim-keys.ts';
import type { PasswordHashCache } from './password-cache.ts';

export interface BundleReconcilerOptions {
  state: ClusterState;
  client: KubeClient;
  target: BundleTarget;
  passwords: PasswordHashCache;
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
  const { state, client, target, passwords, logger } = options;
  let writtenRevision: string | null = null;
  let domainFingerprints = new Map<string, string>();

  const renderNow = async (): Promise<RenderResult> => {
    const domains = live(state.domains.list());
    const input = {
      domains,
      mailboxes: live(state.mailboxes.list()),
      relays: live(state.relays.list()),
      secrets: state.secrets.list(),
      dkimKeys: domains.flatMap((d) => keysOf(state, d)),
    };
    // First pass finds the passwords without a cached hash; they are hashed off the
    // event loop, and the second pass renders with all of them.
    const misses = new Map<string, { address: string; password: string }>();
    const used = new Set<string>();
    const lookup = (address: string, password: string) => {
      used.add(passwords.fingerprintOf(address, password));
      return passwords.lookup(address, password, misses) ?? '$pending';
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      await passwords.fill(misses);
      result = render({ ...input, hashPassword: lookup });
    }
    passwords.retain(used);
    return result;
  };

  return async function reconcileBundle() {
    const result = await renderNow();
    state.lastRender = result;

    if (writtenRevision === null) {
      const current = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: target.namespace, name: target.name });
      const annotations = (current?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
      writtenRevision = annotations?.[revisionAnnotation] ?? '';
    }
    if (result.bundle.revision !== writtenRevision) {
      // Secrets first: a ConfigMap of a new revision must never refer to keys the MTA cannot see yet.
      const objects = bundleObjects(result, target);
      for (const object of [...objects.slice(1), objects[0]]) await client.apply(object as never);
      writtenRevision = result.bundle.revision;
      logger.info('bundle written', { revision: result.bundle.revision, domains: result.bundle.domains.length, mailboxes: result.bundle.mailboxes.length });
      options.onBundleWritten?.(result.bundle.revision);
    }

    const issues = issuesByResource(result.issues);
    const now = options.now();
    for (const [kind, plural, objects] of [['Mailbox', 'mailboxes', state.mailboxes.list()], ['Relay', 'relays', state.relays.list()]] as const) {
      for (const object of live(objects as { metadata: { name: string; namespace?: string; generation?: number; deletionTimestamp?: string }; status?: unknown }[])) {
        const ref = refOf(kind, object.metadata as never);
        const current = object.status as { conditions?: never[] } | undefined;
        const status = simpleStatus({ namespace: ref.namespace, name: ref.name, generation: object.metadata.generation, status: current }, issues.get(`${kind}/${ref.namespace}/${ref.name}`) ?? [], now);
        if (!sameStatus(current, status)) {
          await client.applyStatus({ apiVersion: 'stafette.dev/v1alpha1', kind, plural, namespace: ref.namespace, name: ref.name }, status);
        }
      }
    }

    const fingerprints = new Map<string, string>();
    for (const d of live(state.domains.list())) {
      const ref = refOf('MailDomain', d.metadata);
      const key = `${ref.namespace}/${ref.name}`;
      const report = result.domains.find((r) => r.namespace === ref.namespace && r.name === ref.name);
      fingerprints.set(key, JSON.stringify([issues.get(`MailDomain/${key}`) ?? [], report ?? null]));
    }
    const changed = [...fingerprints].filter(([k, fp]) => domainFingerprints.get(k) !== fp).map(([k]) => k);
    domainFingerprints = fingerprints;
    if (changed.length > 0) options.domainsChanged(changed);
  };
}

