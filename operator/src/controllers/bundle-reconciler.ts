// The bundle reconcile, one for every resource in the watched namespaces:
//   fetch   the MailDomains, Mailboxes, Relays and Secrets, from the informers' caches;
//   render  them into one bundle, every password hashed (passwords/);
//   apply   the bundle when its content changed, then the index of its password hashes;
//   status  of every Mailbox and Relay, patched where it changed, and a Warning Event for
//           each one that is Stalled (the recorder folds repeats into one Event's series).
// MailDomains get their status from the domain reconciler, which reads what this render
// found through latestRender() and is told here which domains' findings changed: first
// when the render's first pass is done, if passwords must be hashed before the bundle can
// be (their keys are made while scrypt runs), and again once the bundle is written, before
// the Mailboxes' statuses (the domain reconciles run beside those writes).
import type { DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';
import type { DeliveryTarget } from '../../../bundle/schema.ts';
import { maxObjectDataBytes } from '../../../bundle/files.ts';
import { apiVersion, issueReasons, warningEventAction } from '../../../crds/src/index.ts';
import type { Logger } from '../../../observability/logger.ts';
import { writeBundle } from '../apply/bundle.ts';
import { applyStatuses } from '../apply/statuses.ts';
import type { BundleTarget } from '../children/bundle-objects.ts';
import { live, renderInputOf, type ClusterState } from '../cluster/cluster-state.ts';
import type { MtaStsServer, RenderInput } from '../render/input.ts';
import { srsKeysAt } from '../srs/srs-keys.ts';
import type { EventInput, KubeClient } from '../kube/client.ts';
import { BundlePasswords } from '../passwords/bundle-passwords.ts';
import { refOf } from '../render/context.ts';
import { RenderFindings } from '../render/findings.ts';
import { stalledOf } from '../status/health.ts';
import { simpleStatuses } from '../status/resource-status.ts';
import { DomainVerifier, type Claim } from '../ownership/domain-verifier.ts';
import { allowListed, challengeRecordOf, type IssuerRule } from '../render/ownership.ts';
import type { TxtResolver } from './domain-reconciler.ts';

export interface BundleReconcilerOptions {
  state: ClusterState;
  client: KubeClient;
  target: BundleTarget;
  now: () => Date;
  logger: Logger;
  /** Called with the keys of domains whose render data changed. */
  domainsChanged: (keys: string[]) => void;
  /** Who serves the domains' MTA-STS policies (render/input.ts). */
  mtaStsServedBy: MtaStsServer;
  onBundleWritten?: (revision: string) => void;
  /** Called after each render with how many resources the bundle check left out (BundleCheckFailed). */
  onBundleChecked?: (heldOut: number) => void;
  /** The target of Mailboxes without `delivery` (RenderInput.defaultDelivery). */
  defaultDelivery?: DeliveryTarget | null;
  /** The platform's delivery-target allow-lists (RenderInput.deliveryTargets). */
  deliveryTargets?: DeliveryTargetPolicy;
  /** Records an Event (the operator's deduplicating recorder); none records nothing. */
  event?: (event: EventInput) => void;
  /** Which namespace may claim which domain (docs/trust-model.md §6); none: every namespace any domain. */
  domainOwnership?: DomainOwnershipPolicy;
  /** The issuers tls.issuerRef may name; null or none: any. */
  allowedIssuers?: readonly IssuerRule[] | null;
}

export interface DomainOwnershipPolicy {
  /** The admin's allow-list (render/ownership.ts DomainOwnership.allow). */
  allow: Readonly<Record<string, readonly string[]>>;
  /** Where challenge records are looked up; null turns the DNS challenge off. */
  challengeResolver: TxtResolver | null;
  /** How often a claim not verified yet is looked up again (default 30 s). */
  challengePollMs?: number;
  /** Told each challenge lookup's result (the operator's metric). */
  onLookup?: (result: 'found' | 'absent' | 'failed') => void;
  /** Told when a claim's verification changed outside a reconcile: render again. */
  onChange?: () => void;
}

export interface BundleReconciler {
  reconcile(): Promise<void>;
  /** Looks up the DNS challenges that are due; a claim that changed is told through domainOwnership.onChange. */
  checkChallenges(): Promise<void>;
  /** What the latest render found (its first pass while passwords are being hashed), or null before the first one. */
  latestRender(): RenderFindings | null;
}

export function createBundleReconciler(options: BundleReconcilerOptions): BundleReconciler {
  const { state, client, target, logger } = options;
  const passwords = new BundlePasswords(client, target);
  let latest: RenderFindings | null = null;
  /** The findings of the bundle the MTAs have: the latest complete render that was not refused as a whole. */
  let published: RenderFindings | null = null;
  let writtenRevision: string | null = null;
  let domainFingerprints = new Map<string, string>();
  const policy = options.domainOwnership;
  const verifier = policy?.challengeResolver
    ? new DomainVerifier({
        resolver: policy.challengeResolver,
        record: async (namespace, domain) => challengeRecordOf(await passwords.masterKey(), namespace, domain),
        now: () => options.now().getTime(),
        recheckUnverifiedMs: policy.challengePollMs,
        onLookup: policy.onLookup,
        onChange: policy.onChange,
      })
    : null;
  // The claims only DNS can prove: those the allow-list does not cover.
  const challenged = (): Claim[] =>
    policy
      ? live(state.domains.list())
          .map((d) => ({ namespace: d.metadata.namespace ?? 'default', domain: d.spec.domain }))
          .filter((c) => !allowListed(policy, c.namespace, c.domain))
      : [];

  async function reconcile(): Promise<void> {
    const masterKey = await passwords.masterKey();
    if (verifier) await verifier.checkNew(challenged());
    // Domains are told what the render found as soon as its first pass has (before any
    // password is hashed), and again when the complete render says something else.
    const tellDomains = (findings: RenderFindings) => {
      const fingerprints = findings.domainFingerprints(live(state.domains.list()).map((d) => refOf('MailDomain', d.metadata)));
      const changed = [...fingerprints].filter(([key, fingerprint]) => domainFingerprints.get(key) !== fingerprint).map(([key]) => key);
      domainFingerprints = fingerprints;
      if (changed.length > 0) options.domainsChanged(changed);
    };
    const input: Omit<RenderInput, 'hashPassword'> = {
      ...renderInputOf(state),
      defaultDelivery: options.defaultDelivery,
      ...(options.deliveryTargets ? { deliveryTargets: options.deliveryTargets } : {}),
      mtaStsServedBy: options.mtaStsServedBy,
      srsKeys: srsKeysAt(masterKey, options.now().getTime()),
      objectLimits: { shards: target.shards, maxBytes: maxObjectDataBytes },
      ownership: policy
        ? {
            allow: policy.allow,
            verified: verifier?.verified() ?? new Set(),
            challenge: verifier ? (ns, domain) => challengeRecordOf(masterKey, ns, domain) : null,
          }
        : undefined,
      allowedIssuers: options.allowedIssuers ?? null,
    };
    const result = await passwords.render(input, (firstPass) => {
      latest = new RenderFindings(firstPass, published);
      tellDomains(latest);
    });
    const findings = new RenderFindings(result);
    latest = findings;
    options.onBundleChecked?.(result.issues.filter((i) => i.reason === issueReasons.bundleCheckFailed).length);

    const { revision } = result.bundle;
    if (result.bundleErrors.length > 0) {
      // Nothing to blame on a resource (render.ts): the last bundle stays, as an MTA would keep it.
      logger.error('bundle not written: the MTA would refuse it', { revision, errors: result.bundleErrors });
    } else {
      if (writtenRevision !== revision) {
        const written = await writeBundle(client, target, result);
        writtenRevision = revision;
        if (written > 0) {
          logger.info('bundle written', { revision, objects: written, domains: result.bundle.domains.length, mailboxes: result.bundle.mailboxes.length });
          options.onBundleWritten?.(revision);
        }
      }
      published = findings;
    }
    // Before the statuses: the domain reconciles run beside the thousands of status writes, not after them.
    tellDomains(findings);

    const now = options.now();
    const statuses = [
      ...simpleStatuses('Mailbox', live(state.mailboxes.list()), findings, now),
      ...simpleStatuses('Relay', live(state.relays.list()), findings, now),
    ];
    await applyStatuses(
      client,
      statuses.filter((s) => s.changed),
    );
    for (const { kind, namespace, name, uid, status } of statuses) {
      const stalled = stalledOf(status.conditions);
      if (stalled)
        options.event?.({
          regarding: { apiVersion, kind, namespace, name, uid },
          type: 'Warning',
          reason: stalled.reason,
          action: warningEventAction,
          note: stalled.message,
        });
    }
  }

  return {
    reconcile,
    checkChallenges: async () => {
      if (verifier) await verifier.checkDue(challenged());
    },
    latestRender: () => latest,
  };
}
