// The domain reconcile, per MailDomain: its DKIM keys (created, rotated, retired), its
// cert-manager Certificate and ExternalDNS DNSEndpoint when asked for and installed,
// and its status, patched once, only when it changed. Deleting a MailDomain needs no
// finalizer: everything made here carries an owner reference to it.
import { applyDefaults, specSchemaOf } from '../../../crds/src/crd-schemas.ts';
import {
  conditionTypes,
  events,
  issueReasons,
  reasons,
  secretUseLabel,
  secretUses,
  warningEventAction,
  type ConditionType,
  type MailDomain,
  type MailDomainSpecResolved,
} from '../../../crds/src/index.ts';
import type { Logger } from '../../../observability/logger.ts';
import { certificateFor } from '../children/certificate.ts';
import type { MtaStsServer } from '../render/input.ts';
import { dkimSecret, retiringAnnotation, stateAnnotation } from '../children/dkim-secret.ts';
import { dnsEndpointFor } from '../children/dns-endpoint.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import { generateDkimKeyAsync } from '../dkim/keys.ts';
import { planRotation } from '../dkim/rotation.ts';
import { describeApiError, isRefused, type EventInput, type KubeClient } from '../kube/client.ts';
import { dkimRecordText } from '../render/dns-records.ts';
import type { RenderFindings } from '../render/findings.ts';
import { secretValue } from '../render/input.ts';
import { secretUseRefusal } from '../render/secret-use.ts';
import { sameStatus } from '../status/conditions.ts';
import { stalledOf } from '../status/health.ts';
import { domainStatus, type ChildState } from '../status/resource-status.ts';

export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

export interface DomainReconcilerOptions {
  state: ClusterState;
  /** What the bundle reconciler's latest render found; null before the first render. */
  latestRender: () => RenderFindings | null;
  client: KubeClient;
  now: () => Date;
  logger: Logger;
  /** Checks that a new DKIM record is visible; without one, keys sign after propagationDelayMs. */
  resolver?: TxtResolver;
  propagationDelayMs: number;
  retireAfterMs: number;
  /** Who serves the domains' MTA-STS policies: the MTA's needs mta-sts.<domain> in the Certificate. */
  mtaStsServedBy: MtaStsServer;
  event: (event: EventInput) => void;
  /** How often to look at Certificates and DNSEndpoints that are not settled (they are not watched). */
  pollMs?: number;
  /** Asks for the domain to be reconciled again after a delay. */
  requeueAfter: (key: string, ms: number) => void;
}

/** How long what discovery said about cert-manager and ExternalDNS is trusted, and how often a stalled child is looked at again. */
const recheckStalledMs = 5 * 60_000;

/** A child's state, and when to look at it again because nothing watched will say it changed. */
interface ChildResult extends ChildState {
  recheckInMs?: number;
}

export function createDomainReconciler(options: DomainReconcilerOptions): (key: string) => Promise<void> {
  const { state, client, logger } = options;
  const schema = specSchemaOf('MailDomain');
  const poll = options.pollMs ?? 30_000;
  // Whether cert-manager and ExternalDNS are installed, looked up again every few
  // minutes so installing one later is noticed without restarting the operator.
  const served = new Map<string, { value: boolean; at: number }>();
  const serves = async (apiVersion: string, kind: string): Promise<boolean> => {
    const cached = served.get(`${apiVersion}/${kind}`);
    if (cached && options.now().getTime() - cached.at < recheckStalledMs) return cached.value;
    const value = await client.serves(apiVersion, kind);
    served.set(`${apiVersion}/${kind}`, { value, at: options.now().getTime() });
    return value;
  };

  const regarding = (d: MailDomain) => ({
    apiVersion: d.apiVersion,
    kind: d.kind,
    name: d.metadata.name,
    namespace: d.metadata.namespace ?? 'default',
    uid: d.metadata.uid,
  });

  async function reconcileKeys(domain: MailDomain, spec: MailDomainSpecResolved, now: Date): Promise<number | null> {
    const keys = state.dkimKeys.keysOf(domain);
    const pending = keys.filter((k) => k.state === 'Published');
    const visible = new Set<string>();
    if (options.resolver) {
      for (const k of pending) {
        try {
          const records = await options.resolver.resolveTxt(`${k.selector}._domainkey.${spec.domain}`);
          if (records.some((chunks) => chunks.join('').replace(/\s+/g, '') === dkimRecordText(k).replace(/\s+/g, ''))) visible.add(k.selector);
        } catch {
          // Not visible yet (or DNS unreachable): wait for the record or the delay.
        }
      }
    }
    const plan = planRotation(
      spec,
      keys.map((k) => ({ ...k })),
      { now, visible, propagationDelayMs: options.propagationDelayMs, retireAfterMs: options.retireAfterMs },
    );
    for (const c of plan.create) {
      const pair = await generateDkimKeyAsync(c.algorithm);
      const created = await client.createIfAbsent(dkimSecret(domain, c.selector, pair.privateKeyPem, c.state, now));
      if (created)
        options.event({
          regarding: regarding(domain),
          type: 'Normal',
          ...events.dkimKeyGenerated,
          note: `generated ${c.algorithm} key for selector ${c.selector} (${c.state})`,
        });
    }
    const secretOf = (selector: string) => keys.find((k) => k.selector === selector)?.secretName as string;
    const ns = domain.metadata.namespace ?? 'default';
    for (const selector of plan.retire) {
      await client.annotate(
        { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: secretOf(selector) },
        { [stateAnnotation]: 'Retiring', [retiringAnnotation]: now.toISOString() },
      );
    }
    for (const selector of plan.promote) {
      await client.annotate({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: secretOf(selector) }, { [stateAnnotation]: 'Signing' });
      options.event({
        regarding: regarding(domain),
        type: 'Normal',
        ...events.dkimKeyRotated,
        note: `signing with selector ${selector}${plan.retire.length ? `; retiring ${plan.retire.join(', ')}` : ''}`,
      });
    }
    for (const name of plan.delete) await client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
    return plan.recheckInMs;
  }

  async function reconcileCertificate(domain: MailDomain, spec: MailDomainSpecResolved, hostname: string): Promise<ChildResult> {
    const type = conditionTypes.certificateReady;
    const ns = domain.metadata.namespace ?? 'default';
    const certificate = certificateFor(domain, spec, hostname, options.mtaStsServedBy);
    if (!certificate) {
      if (!spec.tls?.secretName)
        return done({ type, status: 'True', reason: reasons.defaultCertificate, message: "no tls set: STARTTLS uses the MTA's default certificate" });
      const secret = state.secrets.get(ns, spec.tls.secretName);
      const refusal = secret ? secretUseRefusal(secret, secretUses.tls) : null;
      if (refusal) return stalled({ type, status: 'False', reason: issueReasons.secretNotMarked, message: refusal }, recheckStalledMs);
      return secretValue(secret, 'tls.crt') && secretValue(secret, 'tls.key')
        ? done({ type, status: 'True', reason: reasons.secretFound, message: `using Secret ${spec.tls.secretName}` })
        : stalled(
            {
              type,
              status: 'False',
              reason: reasons.secretNotFound,
              message: `Secret ${spec.tls.secretName} with tls.crt and tls.key not found among the Secrets labelled ${secretUseLabel}=${secretUses.tls}`,
            },
            recheckStalledMs,
          );
    }
    if (!(await serves('cert-manager.io/v1', 'Certificate'))) {
      return stalled(
        {
          type,
          status: 'False',
          reason: reasons.certManagerNotInstalled,
          message: 'tls.issuerRef is set but the cert-manager.io/v1 Certificate API is not served; install cert-manager',
        },
        recheckStalledMs,
      );
    }
    const applied = await client.apply(certificate);
    // cert-manager's own conditions: Ready=True once issued; Issuing=False when an attempt
    // failed (it retries later, with a growing backoff, and sets Issuing=True again).
    const conditions = applied.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return done({ type, status: 'True', reason: reasons.issued, message: `cert-manager issued ${hostname}` });
    const issuing = conditions.find((c) => c.type === 'Issuing');
    if (issuing?.status === 'False') {
      return stalled(
        {
          type,
          status: 'False',
          reason: reasons.issuanceFailed,
          message: `cert-manager could not issue ${hostname}: ${issuing.message ?? issuing.reason ?? 'no reason given'}`,
        },
        poll,
      );
    }
    return {
      condition: { type, status: 'False', reason: reasons.issuing, message: ready?.message ?? `waiting for cert-manager to issue ${hostname}` },
      progress: 'reconciling',
      recheckInMs: poll,
    };
  }

  async function reconcileDns(domain: MailDomain, spec: MailDomainSpecResolved): Promise<ChildResult> {
    const type = conditionTypes.dnsPublished;
    if (spec.dns.publish !== 'externalDNS') {
      return done({ type, status: 'Unknown', reason: reasons.publishedByHand, message: 'dns.publish is none: publish status.dnsRecords in your DNS' });
    }
    if (!(await serves('externaldns.k8s.io/v1alpha1', 'DNSEndpoint'))) {
      return stalled(
        {
          type,
          status: 'False',
          reason: reasons.externalDnsNotInstalled,
          message: 'dns.publish is externalDNS but the externaldns.k8s.io/v1alpha1 DNSEndpoint API is not served; install ExternalDNS with --source=crd',
        },
        recheckStalledMs,
      );
    }
    const report = options.latestRender()?.reportOf(domain.metadata.namespace ?? 'default', domain.metadata.name);
    // Not in the bundle: the domain's Ready already says why (a conflict, an invalid spec).
    if (!report) return done({ type, status: 'Unknown', reason: reasons.notRendered, message: 'the domain is not in the bundle' });
    const applied = await client.apply(dnsEndpointFor(domain, report.dnsRecords, spec.dns.ttl));
    const observed = applied.status?.observedGeneration;
    const generation = applied.metadata.generation;
    return observed !== undefined && observed === generation
      ? done({ type, status: 'True', reason: reasons.published, message: 'ExternalDNS published the records' })
      : {
          condition: { type, status: 'False', reason: reasons.publishing, message: 'DNSEndpoint written; waiting for ExternalDNS' },
          progress: 'reconciling',
          recheckInMs: poll,
        };
  }

  /**
   * A child that could not be written is reported on its condition; the other children still
   * are. A refusal (403, 422: RBAC, a policy, validation) stalls the domain until someone
   * changes something; anything else (5xx, a timeout) is retried at the poll interval.
   */
  async function orApplyFailed(type: ConditionType, reconcileChild: () => Promise<ChildResult>): Promise<ChildResult> {
    try {
      return await reconcileChild();
    } catch (error) {
      const condition = { type, status: 'False' as const, reason: reasons.applyFailed, message: describeApiError(error) };
      return isRefused(error) ? stalled(condition, recheckStalledMs) : { condition, progress: 'reconciling', recheckInMs: poll };
    }
  }

  return async function reconcileDomain(key: string) {
    // Fetch: the domain from the cache, what the latest render found about it.
    const [namespace, name] = key.split('/') as [string, string];
    const domain = state.domains.get(namespace, name);
    const findings = options.latestRender();
    if (!domain || domain.metadata.deletionTimestamp || !findings) return;
    const now = options.now();
    const spec = applyDefaults(schema, domain.spec) as MailDomainSpecResolved;
    const report = findings.reportOf(namespace, name);
    const issues = findings.issuesOf({ kind: 'MailDomain', namespace, name });
    // A domain the latest render has not seen yet (every one it left out has an error): the
    // bundle reconciler is told when it has, and asks for this reconcile again.
    if (!report && !issues.some((i) => i.severity === 'Error')) return;
    // Not in the bundle (the domain is another's, not verified, ...): no keys, no Certificate,
    // no DNSEndpoint; nothing is signed or published for it (docs/trust-model.md §6).
    const served = report !== undefined;
    const tlsRefused = issues.find((i) => i.reason === issueReasons.issuerNotAllowed || i.reason === issueReasons.tlsSecretNotOwned);

    // Apply: the children.
    let recheck: number | null = null;
    if (served) recheck = await reconcileKeys(domain, spec, now);
    const certificate = !served
      ? done({ type: conditionTypes.certificateReady, status: 'Unknown', reason: reasons.notRendered, message: 'the domain is not in the bundle' })
      : tlsRefused
        ? stalled({ type: conditionTypes.certificateReady, status: 'False', reason: tlsRefused.reason, message: tlsRefused.message }, recheckStalledMs)
        : await orApplyFailed(conditionTypes.certificateReady, () => reconcileCertificate(domain, spec, spec.hostname ?? `mx.${spec.domain}`));
    const dns = await orApplyFailed(conditionTypes.dnsPublished, () => reconcileDns(domain, spec));
    // Certificates, DNSEndpoints and API discovery are not watched: look again while they settle.
    for (const child of [certificate, dns]) {
      if (child.recheckInMs !== undefined) recheck = Math.min(recheck ?? child.recheckInMs, child.recheckInMs);
    }

    // Status: patched once, only when it changed.
    const keys = state.dkimKeys.keysOf(domain);
    const signing = new Set(report ? findings.signingSelectorsOf(spec.domain) : []);
    const status = domainStatus(
      { namespace, name, generation: domain.metadata.generation, status: domain.status },
      issues,
      report,
      {
        dkim: keys.map((k) => ({
          name: k.selector,
          algorithm: k.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa-2048',
          secretName: k.secretName,
          state: k.state,
          createdAt: k.createdAt,
        })),
        // A key the cluster has but the last render has not seen yet counts as pending too.
        missingSelectors: !served
          ? []
          : [...findings.missingSelectorsOf(namespace, name), ...keys.filter((k) => k.state === 'Signing' && !signing.has(k.selector)).map((k) => k.selector)],
        certificate,
        dns,
      },
      now,
    );
    if (!sameStatus(domain.status, status)) {
      await client.applyStatus({ kind: 'MailDomain', namespace, name }, status);
      logger.debug('domain status updated', { domain: spec.domain, ready: status.conditions?.find((c) => c.type === conditionTypes.ready)?.status });
    }
    // A Warning for every reconcile that finds the domain stuck or a child write failed; the
    // recorder folds repeats into one Event's series (kube/event-recorder.ts).
    const warning = stalledOf(status.conditions) ?? [certificate, dns].map((c) => c.condition).find((c) => c.reason === reasons.applyFailed);
    if (warning) options.event({ regarding: regarding(domain), type: 'Warning', reason: warning.reason, action: warningEventAction, note: warning.message });
    // Far-off deadlines (a rotation in 90 days) are looked at again every few hours;
    // timers cannot be that long, and the periodic relist would requeue it anyway.
    if (recheck !== null) options.requeueAfter(key, Math.min(6 * 3_600_000, Math.max(1000, recheck)));
  };
}

function done(condition: ChildState['condition']): ChildResult {
  return { condition, progress: 'done' };
}

function stalled(condition: ChildState['condition'], recheckInMs: number): ChildResult {
  return { condition, progress: 'stalled', recheckInMs };
}
