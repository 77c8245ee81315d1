// The operator: informers feed a keyed work queue; the leader reconciles.
//
//   MailDomain, Mailbox, Relay, Secret events ──► key "bundle"            ──► bundle reconcile
//   MailDomain events, DKIM Secret events     ──► key "domain/<ns>/<name>" ──► domain reconcile
//
// Every replica watches (so a new leader starts with warm caches), only the holder of
// the Lease reconciles and writes. A replica that loses the lease exits: its process
// restarts as a follower, which is simpler and safer than unwinding work in flight.
import type { DeliveryTargetPolicy } from '../../bundle/delivery-targets.ts';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Resolver } from 'node:dns/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { crdFiles, group, secretUseLabel, version, type MailDomain, type Mailbox, type Relay } from '../../crds/src/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BundleTarget } from './children/bundle-objects.ts';
import { domainLabel } from './children/owner.ts';
import type { ClusterState } from './cluster/cluster-state.ts';
import { DkimKeyIndex, type CachedSecret } from './cluster/dkim-key-index.ts';
import { createBundleReconciler } from './controllers/bundle-reconciler.ts';
import type { MtaStsServer } from './render/input.ts';
import { nextSrsRotationMs } from './srs/srs-keys.ts';
import { createDomainReconciler, type TxtResolver } from './controllers/domain-reconciler.ts';
import { startOpsServer, type OpsServer } from '../../observability/ops-server.ts';
import { countingWrites, describeApiError, kubeClient, type EventInput, type KubeClient } from './kube/client.ts';
import { countHttp, shareOneDispatcher } from './kube/connections.ts';
import { EventRecorder } from './kube/event-recorder.ts';
import { customResourceSource, secretSource, watchResource, type WatchedResource } from './kube/informer.ts';
import { startLeaderElection, type LeaderElector } from './kube/leader-election.ts';
import { ReconcileGate } from './kube/reconcile-gate.ts';
import { SpecChanges } from './kube/spec-changes.ts';
import { WorkQueue } from './kube/workqueue.ts';
import { operatorMetrics, type OperatorMetrics } from './metrics.ts';
import type { DeliveryTarget } from '../../bundle/schema.ts';
import type { IssuerRule } from './render/ownership.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; null watches all of them. */
  namespaces: string[] | null;
  bundle: BundleTarget;
  /** Where the leader Lease lives. */
  leaseNamespace: string;
  leaseName?: string;
  identity?: string;
  logger: Logger;
  health?: { host: string; port: number };
  workers?: number;
  /** DNS servers to check new DKIM records against; none means wait propagationDelayMs. */
  dnsServers?: string[];
  propagationDelayMs?: number;
  retireAfterMs?: number;
  leaseDurationMs?: number;
  /** How often unsettled Certificates and DNSEndpoints are looked at again. */
  pollMs?: number;
  /** Who serves the domains' MTA-STS policies (render/input.ts); default the MTA. */
  mtaStsServedBy?: MtaStsServer;
  now?: () => Date;
  /** Called when this replica stops leading; the default exits the process. */
  onLostLeadership?: () => void;
  /** The target of Mailboxes without `delivery`: default `local`; null reports them (NoDeliveryTarget). */
  defaultDelivery?: DeliveryTarget | null;
  /** The platform's delivery-target allow-lists (RenderInput.deliveryTargets); default defaultDeliveryTargetPolicy. */
  deliveryTargets?: DeliveryTargetPolicy;
  /** The API client; by default one made from kubeConfig. Tests wrap it to interrupt writes. */
  client?: KubeClient;
  /**
   * Which namespace may claim which domain (docs/trust-model.md §6): the admin's allow-list and
   * whether a DNS challenge proves the rest. None: every namespace any domain (as before; the
   * CLI always passes one).
   */
  domainOwnership?: { allow: Record<string, readonly string[]>; dnsChallenge: boolean; challengePollMs?: number };
  /** Where challenge records are looked up; by default dnsServers, else the system's resolver. */
  challengeResolver?: TxtResolver;
  /** The issuers tls.issuerRef may name; none or null: any (the CLI always passes a list). */
  allowedIssuers?: readonly IssuerRule[] | null;
}

export interface RunningOperator {
  metrics: OperatorMetrics;
  healthPort(): number | null;
  isLeader(): boolean;
  /** Resolves when the work queue has nothing waiting or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const logger = options.logger;
  const now = options.now ?? (() => new Date());
  // Before any API client is made from it: one keep-alive pool for every request and watch.
  shareOneDispatcher(options.kubeConfig);
  const metrics = operatorMetrics();
  const stopCountingHttp = countHttp(
    () => metrics.httpConnections.inc(),
    () => metrics.httpRequests.inc(),
  );
  const client: KubeClient = countingWrites(options.client ?? kubeClient(options.kubeConfig), (verb) => metrics.apiWrites.inc({ verb }));
  const identity = options.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  const namespaces = options.namespaces;
  const scopes = namespaces ?? [null];
  // Reconciles start once this replica leads and every cache is listed (kube/reconcile-gate.ts).
  const gate = new ReconcileGate(() => enqueueEverything());

  const queue = new WorkQueue(
    async (key) => {
      const controller = key === 'bundle' ? 'bundle' : 'domain';
      const end = metrics.reconcileSeconds.startTimer({ controller });
      metrics.reconcilesInFlight.inc({ controller });
      try {
        if (key === 'bundle') {
          await bundleReconciler.reconcile();
          // The SRS keys rotate with time alone (srs/srs-keys.ts): render again when they do.
          const at = now().getTime();
          queue.addAfter('bundle', nextSrsRotationMs(at) - at + 1_000);
        } else await reconcileDomain(key.slice('domain/'.length));
        metrics.reconciles.inc({ controller, result: 'success' });
        queue.forget(key);
      } catch (error) {
        metrics.reconciles.inc({ controller, result: 'error' });
        throw error;
      } finally {
        end();
        metrics.reconcilesInFlight.dec({ controller });
        metrics.queueDepth.set(queue.stats().depth);
      }
    },
    { workers: options.workers ?? 16 },
    (key, error, retryInMs) => logger.warn('reconcile failed; retrying', { key, error: describeApiError(error), retryInMs }),
  );

  // Events through one recorder, which folds repeats into series as client-go does.
  const recorder = new EventRecorder({
    now,
    sink: {
      create: (event, eventTime, series) => client.createEvent(event, eventTime, series, identity),
      patchSeries: (namespace, name, series) => client.patchEventSeries(namespace, name, series),
    },
    onOutcome: (event, outcome) => metrics.events.inc({ type: event.type, outcome }),
    onError: (event, error) => logger.warn('could not record event', { reason: event.reason, error: describeApiError(error) }),
  });
  const flushEvents = setInterval(() => recorder.flush(), 60_000);
  flushEvents.unref();
  // Claims are looked up again on a timer (ownership/domain-verifier.ts); one that changed asks for a render.
  const challenges = setInterval(
    () => {
      if (!gate.open) return;
      bundleReconciler.checkChallenges().catch((error: unknown) => logger.warn('domain challenge lookups failed', { error: describeApiError(error) }));
    },
    Math.max(1000, options.domainOwnership?.challengePollMs ?? 30_000),
  );
  challenges.unref();
  const event = (e: EventInput) => {
    if (gate.isLeading) recorder.record(e);
  };

  const enqueue = (key: string) => {
    if (gate.open) queue.add(key);
  };
  // Declared before the Secret informer, whose events invalidate it.
  const dkimKeys: DkimKeyIndex = new DkimKeyIndex({ list: () => secrets.list(), get: (ns, name) => secrets.get(ns, name) });
  const onError = (resource: string) => metrics.informerRestarts.inc({ resource });
  const domainChanges = new SpecChanges();
  const crd = (plural: string) => scopes.map((ns) => customResourceSource(options.kubeConfig, group, version, plural, ns));
  const domains = watchResource<MailDomain & KubernetesObject>(
    options.kubeConfig,
    'maildomains',
    crd(crdFiles.MailDomain.plural),
    (d, verb) => {
      // The operator's own status writes are not changes (kube/spec-changes.ts).
      if (!domainChanges.changed(d, verb)) return;
      enqueue('bundle');
      enqueue(`domain/${d.metadata.namespace}/${d.metadata.name}`);
    },
    { logger, onError },
  );
  // Mailboxes and Relays feed only the bundle: a change of spec asks for a render.
  const watchBundleInput = <T extends KubernetesObject>(resource: string, plural: string) => {
    const changes = new SpecChanges();
    return watchResource<T>(
      options.kubeConfig,
      resource,
      crd(plural),
      (o, verb) => {
        if (changes.changed(o, verb)) enqueue('bundle');
      },
      { logger, onError },
    );
  };
  const mailboxes = watchBundleInput<Mailbox & KubernetesObject>('mailboxes', crdFiles.Mailbox.plural);
  const relays = watchBundleInput<Relay & KubernetesObject>('relays', crdFiles.Relay.plural);
  const secrets = watchResource<CachedSecret & KubernetesObject>(
    options.kubeConfig,
    'secrets',
    // Only Secrets a tenant marked for a use, and the operator's DKIM key Secrets, are listed,
    // watched and cached (docs/trust-model.md "Secrets and validation"); every other Secret of
    // the namespace stays unread. The password index and the bundle are read by name.
    scopes.flatMap((ns) => [secretSource(options.kubeConfig, ns, secretUseLabel), secretSource(options.kubeConfig, ns, domainLabel)]),
    (s) => {
      // The bundle itself is a Secret we write: its events must not trigger a render.
      if (s.metadata.namespace === options.bundle.namespace && s.metadata.name?.startsWith(`${options.bundle.name}-`)) return;
      enqueue('bundle');
      // Every Secret event, also one that took a label away: the index re-reads that Secret alone.
      dkimKeys.changed(s.metadata.namespace ?? 'default', s.metadata.name ?? '');
      const owner = s.metadata.labels?.[domainLabel];
      if (owner) enqueue(`domain/${s.metadata.namespace}/${owner}`);
    },
    { logger, onError },
  );
  const watched: Pick<WatchedResource<unknown>, 'synced' | 'stop'>[] = [domains, mailboxes, relays, secrets];

  const state: ClusterState = { domains, mailboxes, relays, secrets, dkimKeys };
  let resolver: TxtResolver | undefined;
  if (options.dnsServers?.length) {
    const r = new Resolver({ timeout: 3000, tries: 2 });
    r.setServers(options.dnsServers);
    resolver = r;
  }
  const ownership = options.domainOwnership;
  const bundleReconciler = createBundleReconciler({
    domainOwnership: ownership && {
      allow: ownership.allow,
      challengeResolver: ownership.dnsChallenge ? (options.challengeResolver ?? resolver ?? new Resolver({ timeout: 3000, tries: 2 })) : null,
      challengePollMs: ownership.challengePollMs,
      onLookup: (result) => metrics.domainChallenges.inc({ result }),
      onChange: () => enqueue('bundle'),
    },
    allowedIssuers: options.allowedIssuers ?? null,
    state,
    client,
    target: options.bundle,
    now,
    logger,
    event,
    mtaStsServedBy: options.mtaStsServedBy ?? 'mta',
    defaultDelivery: options.defaultDelivery,
    ...(options.deliveryTargets ? { deliveryTargets: options.deliveryTargets } : {}),
    domainsChanged: (keys) => keys.forEach((k) => enqueue(`domain/${k}`)),
    onBundleChecked: (heldOut) => metrics.bundleCheckRefused.set(heldOut),
    onBundleWritten: (revision) => {
      metrics.bundleWrites.inc();
      metrics.bundleRevision.reset();
      metrics.bundleRevision.set({ revision }, 1);
    },
  });
  const reconcileDomain = createDomainReconciler({
    state,
    client,
    now,
    logger,
    resolver,
    mtaStsServedBy: options.mtaStsServedBy ?? 'mta',
    latestRender: () => bundleReconciler.latestRender(),
    propagationDelayMs: options.propagationDelayMs ?? 10 * 60_000,
    retireAfterMs: options.retireAfterMs ?? 7 * 86_400_000,
    pollMs: options.pollMs,
    event,
    requeueAfter: (key, ms) => queue.addAfter(`domain/${key}`, ms),
  });

  void Promise.all(watched.map((w) => w.synced)).then(() => {
    logger.info('caches synced', { namespaces: namespaces ?? 'all' });
    gate.cachesListed();
  });
  const enqueueEverything = () => {
    queue.add('bundle');
    for (const d of domains.list()) queue.add(`domain/${d.metadata.namespace}/${d.metadata.name}`);
  };

  // The same /healthz, /readyz and /metrics endpoint as the MTA's. Ready once the caches
  // are synced, whether this replica leads or stands by.
  let health: OpsServer | null = null;
  if (options.health) {
    health = await startOpsServer({
      ...options.health,
      readiness: () => Promise.resolve(gate.cachesSynced ? { ready: true, reasons: [] } : { ready: false, reasons: ['caches not synced'] }),
      metrics: async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }),
      onError: (path, error) => logger.warn('operations request failed', { path, error: describeApiError(error) }),
    });
  }

  const elector: LeaderElector = startLeaderElection({
    client,
    namespace: options.leaseNamespace,
    name: options.leaseName ?? 'stafette-operator',
    identity,
    logger,
    leaseDurationMs: options.leaseDurationMs,
    now,
    onStartedLeading: () => {
      metrics.leader.set(1);
      gate.startedLeading();
    },
    onStoppedLeading: () => {
      gate.stoppedLeading();
      metrics.leader.set(0);
      (options.onLostLeadership ?? (() => process.exit(1)))();
    },
  });

  return {
    metrics,
    healthPort: () => health?.port ?? null,
    isLeader: () => elector.isLeader(),
    idle: () => queue.idle(),
    async stop() {
      gate.stoppedLeading();
      await queue.shutdown();
      clearInterval(flushEvents);
      clearInterval(challenges);
      recorder.flush();
      await recorder.settled();
      await elector.stop();
      await Promise.all(watched.map((w) => w.stop()));
      await health?.close();
      stopCountingHttp();
    },
  };
}
