// The MTA process, composed in one place: configuration → operations endpoint → NATS → queue
// setup → the one publisher → SMTP intake and delivery (engine, transports, routing from the
// bundle in force) on one DNS resolver, and the orderly way back down on SIGTERM. The CLI
// (cli/mta-command.ts) only turns flags into MtaOptions; every default lives with the part
// it configures.
//
// The operations endpoint starts first on purpose: the first bundle may take a moment to be
// mounted and `connect` waits for NATS as long as it takes (waitOnFirstConnect); meanwhile
// the kubelet must see a live process (/healthz 200) that is not ready (/readyz 503 with the
// reason), not a dead one to restart.
//
// Shutdown (docs/reliability.md §3 scenario 44): readiness turns false at once, so the Service
// stops routing new connections here (the pod's preStop sleep covers the time the endpoint
// removal takes); then the intake stops accepting, lets sessions in flight finish until the
// deadline and answers 421 to the rest, while delivery workers finish or hand back their jobs;
// then the NATS connection is drained, so every publish that got its 250 has its ack, and the
// process exits 0.
import { randomBytes } from 'node:crypto';
import type { DeliveryTargetPolicy } from '../../bundle/delivery-targets.ts';
import { hostname as osHostname } from 'node:os';
import type { ObjectStore } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../observability/logger.ts';
import { startOpsServer, type OpsServer } from '../../observability/ops-server.ts';
import { bundleSources } from './config/load-bundle.ts';
import { createBundleWatcher, type BundleEvent, type LoadedBundle } from './config/watch-bundle.ts';
import { createRouter, startDelivery } from './delivery/index.ts';
import { deferredStats, type DeferredStats } from './delivery/queue-operations.ts';
import type { DeliveryObserver } from './delivery/delivery-observer.ts';
import { retryPolicy, type RetryPolicy } from './delivery/retry-policy.ts';
import { getServers } from 'node:dns';
import { createDnsResolver, type DnsResolver } from './dns.ts';
import { createCachingResolver } from './dns/dns-cache.ts';
import { createSpamMetrics } from './ops/spam-metrics.ts';
import { createDnsblChecker } from './spam/dnsbl.ts';
import { createSpamFilter, type SpamFilterOptions } from './spam/rspamd.ts';
import { createDnsClient } from './dns/dns-client.ts';
import { createStandardsMetrics } from './ops/standards-metrics.ts';
import { policyHostOf, startPolicyServer, type PolicyServer, type ServedPolicy } from './mta-sts/policy-server.ts';
import { buildTrustStore, installTrustStore } from './outbound-tls/trust-store.ts';
import { generateSelfSignedCertificate } from './smtp/self-signed-certificate.ts';
import { startOutboundStandards } from './outbound-wiring.ts';
import type { OutboundStandards } from './transport/outbound-standards.ts';
import { describeError } from './errors.ts';
import { createDeliveryMetrics } from './ops/delivery-metrics.ts';
import { createMetrics } from './ops/metrics.ts';
import { createPodReadiness } from './ops/pod-readiness.ts';
import { addMemoryBudgetMetric, addQueueDepthMetrics, addStorePressureMetrics, orphanBodiesCounter } from './ops/queue-depth-metrics.ts';
import { startOrphanCollector, type OrphanCollector } from './queue/orphan-collector.ts';
import { watchStorePressure, type StorePressure } from './queue/store-pressure.ts';
import {
  createPublisher,
  createQueueReadiness,
  createRecordSeal,
  ensureQueue,
  openBodyStore,
  queueConnectOptions,
  queueSettings,
  queueStats,
  watchConnection,
  type ConnectionWatch,
  type NatsCredentials,
  type NatsTls,
  type QueuePublisher,
  type QueueReadiness,
  type QueueSettings,
  type RecordSeal,
} from './queue/index.ts';
import { roleInboxPrefix } from './queue/nats-roles.ts';
import { createIntake, type Intake, type ListenerConfig, type TlsMaterial } from './smtp/index.ts';
import { Kvm } from '@nats-io/kv';
import { hourMs, type SharedLimitSettings } from './policy/shared-limits.ts';
import { createKvCounters, openLimitsBucket } from './queue/shared-counters.ts';
import { publisherRequeue } from './transport/forward.ts';
import { createDeliveryTransports } from './transport/transport-set.ts';

export interface MtaOptions {
  readonly configDir: string;
  /** Defaults to configDir. */
  readonly secretDir?: string;
  /**
   * Servers, TLS and the shared credential; `intake`/`delivery` give each connection its own
   * NATS user (queue/nats-roles.ts). Without them one connection serves both (`make run`).
   */
  readonly nats: MtaNatsOptions;
  /** Names this pod in NATS monitoring and logs. */
  readonly instance: string;
  readonly queue?: Partial<QueueSettings>;
  readonly ops: { readonly host: string; readonly port: number };
  /** How long sessions in flight may take to finish after SIGTERM before they get 421. */
  readonly shutdownTimeoutMs: number;
  /** Periodic re-read of the bundle (the directory watch is the fast path). */
  readonly configRecheckMs?: number;
  /** How long to wait at start for a first valid bundle before giving up. */
  readonly firstBundleTimeoutMs?: number;
  /** The SMTP listeners to open (smtp/listener-config.ts: listenerConfig, defaultListeners). */
  readonly listeners: readonly ListenerConfig[];
  /** Bytes of message data intake may hold at once (default defaultMemoryBudgetBytes, smtp/memory-budget.ts). */
  readonly memoryBudgetBytes?: number;
  /**
   * Our name in the greeting, EHLO, Received and DSNs (Reporting-MTA, MAILER-DAEMON@);
   * default: the hostname of the first domain of the first bundle, else the OS hostname.
   */
  readonly hostname?: string;
  /** The platform's certificate, for clients without SNI or with an unknown name; default: our hostname's domain's, else self-signed. */
  readonly defaultTls?: TlsMaterial | null;
  /** Limits every pod shares (policy/shared-limits.ts), in the JetStream KV bucket stafette-limits; null: none. */
  readonly sharedLimits?: Partial<SharedLimitSettings> | null;
  /** DNS servers ("ip" or "ip:port") for every lookup: MX hosts, relays, reverse DNS; empty: the system's. */
  readonly dnsServers?: readonly string[];
  /** The mail standards: inbound checks, MTA-STS (ours and others'), TLS-RPT (see MtaStandardsOptions). */
  readonly standards?: MtaStandardsOptions;
  /** DNS blocklists and the spam filter on the MX listener (docs/spam-checks.md); absent: none. */
  readonly spam?: MtaSpamOptions;
  /** Delivery workers in this process; null: it only receives (an intake-only pod). */
  readonly delivery: MtaDeliveryOptions | null;
  /**
   * Keys of the queue seal (queue/record-seal.ts; the first seals, all verify), shared by every
   * MTA pod and nothing else (docs/trust-model.md §2.2). None: a random key for this process
   * only, so mail another process queued is delivered unsigned (a local run, tests).
   */
  readonly queueSealKeys?: readonly Buffer[];
  readonly logger: Logger;
  /** Wall clock, milliseconds since the epoch. */
  readonly now?: () => number;
}

export interface MtaNatsOptions extends NatsCredentials {
  readonly servers: string[];
  readonly tls?: NatsTls;
  readonly intake?: NatsCredentials;
  readonly delivery?: NatsCredentials;
}

export interface MtaDeliveryOptions {
  /** Where mailboxes with the default (`local`) delivery get their maildir: <root>/<address>/. */
  readonly localMaildirRoot: string;
  /** The platform's delivery-target allow-lists (bundle/delivery-targets.ts); default defaultDeliveryTargetPolicy. */
  readonly targets?: DeliveryTargetPolicy;
  /** Workers for fresh mail (default defaultDeliveryWorkers, delivery/index.ts); retries get half as many. */
  readonly workers?: number;
  /** Deliveries of one job before it is quarantined (default defaultMaxDeliveries, delivery/worker.ts). */
  readonly maxDeliveries?: number;
  /** The port of remote MX hosts (default defaultMxPort, transport/remote-smtp.ts); another only in tests. */
  readonly mxPort?: number;
  /** Changes to the default retry schedule and message lifetime (delivery/retry-policy.ts). */
  readonly retryPolicy?: Partial<RetryPolicy>;
}

export interface MtaStandardsOptions {
  /** SPF/DKIM/ARC/DMARC on the MX listener (default on). */
  readonly inboundChecks?: boolean;
  /** DNS time one message's checks may use in total (default 10 s, dns/lookup-budget.ts). */
  readonly dnsBudgetMs?: number;
  /** Entries of the DNS cache (default dns/dns-cache.ts). */
  readonly dnsCacheEntries?: number;
  /** Where our MTA-STS policies are served over HTTPS (mta-sts/policy-server.ts); null: not served. */
  readonly policyServer?: { readonly host: string; readonly port: number } | null;
  /** Extra trusted CAs (PEM) besides the system's, for MX hosts, relays and policy hosts. */
  readonly extraCaPem?: string;
  /** A delay notice goes out after this long (default 4 h, dsn/notices.ts); null: never. */
  readonly delayNoticeAfterMs?: number | null;
}

export interface MtaSpamOptions {
  /** DNS blocklist zones asked for each MX client address; empty: none (spam/dnsbl.ts). */
  readonly dnsblZones?: readonly string[];
  /** The most a session waits for the blocklists (default defaultDnsblTimeoutMs). */
  readonly dnsblTimeoutMs?: number;
  /** rspamd asked about each MX message (spam/rspamd.ts); absent or null: not asked. */
  readonly rspamd?: SpamFilterOptions | null;
}

interface RunningDelivery {
  /** Messages waiting for retries, for the metrics. */
  deferred(): Promise<DeferredStats>;
  /** Stops pulling; jobs in flight get the deadline, then go back to the queue. */
  stop(deadlineMs: number): Promise<void>;
}

export interface RunningMta {
  readonly opsPort: number;
  /** The orderly stop; safe to call more than once (later calls wait for the first). */
  shutdown(reason: string): Promise<void>;
}

/** A start-up failure with a sentence for the log; the process exits 1. */
export class MtaStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MtaStartError';
  }
}

export async function startMta(options: MtaOptions): Promise<RunningMta> {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const metrics = createMetrics();
  const settings = queueSettings(options.queue);

  const sources = bundleSources(options.configDir, options.secretDir ?? options.configDir);
  const watcher = createBundleWatcher({
    sources,
    dirs: [sources.configDir, sources.secretDir],
    report: (event) => {
      logBundleEvent(logger, event);
      metrics.bundleEvent(event, now());
    },
    now,
    every: (ms, fn) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      return () => clearInterval(timer);
    },
    recheckMs: options.configRecheckMs,
  });
  watcher.start();

  let queueReadiness: QueueReadiness | null = null;
  let intakeListening = false;
  const readiness = createPodReadiness({
    checkQueue: async () => {
      if (!queueReadiness) return { ready: false, reason: 'connecting to NATS' };
      if (!intakeListening) return { ready: false, reason: 'SMTP listeners not open yet' };
      return await queueReadiness.check();
    },
    hasBundle: () => watcher.current !== null,
    onQueueState: (ready) => metrics.queueReady(ready),
  });
  const ops: OpsServer = await startOpsServer({
    host: options.ops.host,
    port: options.ops.port,
    readiness: () => readiness.check(),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.render() }),
    onError: (path, err) => logger.error('operations request failed', { path, err }),
  });
  logger.info('operations endpoint listening', { host: options.ops.host, port: ops.port });

  await waitForFirstBundle(
    () => watcher.current !== null,
    () => watcher.check(),
    now,
    options.firstBundleTimeoutMs ?? 60_000,
  );
  const first = watcher.current;
  if (first === null) {
    watcher.stop();
    await ops.close();
    throw new MtaStartError(`no valid configuration bundle in ${sources.configDir} and ${sources.secretDir}; see the refusal logged above`);
  }

  // Whom every TLS client of the process trusts: system + bundled CAs + the extra bundle.
  installTrustStore(buildTrustStore(options.standards?.extraCaPem ?? ''));

  let nc: NatsConnection | undefined;
  let deliveryNc: NatsConnection | undefined;
  let watch: ConnectionWatch | undefined;
  let intake: Intake | undefined;
  let policyServer: PolicyServer | undefined;
  let delivery: RunningDelivery | undefined;
  let storePressure: StorePressure | undefined;
  let orphans: OrphanCollector | undefined;
  const stopAll = async () => {
    storePressure?.stop();
    orphans?.stop();
    // Intake and delivery stop side by side: sessions finish their DATA while workers
    // finish (or hand back) their transactions, both before the connection is drained.
    await Promise.all([intake?.close(options.shutdownTimeoutMs), delivery?.stop(options.shutdownTimeoutMs), policyServer?.close()]);
    watcher.stop();
    watch?.stop();
    // drain: lets in-flight requests finish and flushes, then closes.
    for (const c of new Set([nc, deliveryNc])) {
      if (c && !c.isClosed()) await c.drain().catch((err: unknown) => logger.warn('draining the NATS connection failed', { err }));
    }
    await ops.close();
  };

  try {
    const roles = roleConnections(options);
    logger.info('connecting to NATS', { servers: options.nats.servers, tls: options.nats.tls !== undefined, roleUsers: roles.separate });
    nc = await connect(queueConnectOptions(roles.intake));
    // The delivery user sets up the consumer, the intake user the streams (queue/nats-roles.ts).
    deliveryNc = roles.separate && options.delivery ? await connect(queueConnectOptions(roles.delivery)) : nc;
    const streamsSetup = await ensureQueue(nc, settings, { consumer: !roles.separate });
    const setup =
      roles.separate && options.delivery ? { ...streamsSetup, consumer: (await ensureQueue(deliveryNc, settings, { streams: false })).consumer } : streamsSetup;
    logger.info('queue ready', { stream: settings.streamName, ...setup });
    if (Object.values(setup).includes('outdated')) {
      logger.warn('queue objects differ from the settings and this NATS user may not update them; run `stafette queue setup` as the admin user', { ...setup });
    }
    watch = watchConnection(nc);
    const connected = nc;
    const connection = watch;
    queueReadiness = createQueueReadiness({ nc: connected, settings, watch: connection });
    addQueueDepthMetrics(metrics.registry, { readStats: () => queueStats({ nc: connected, settings }), now });
    // One publisher per process: intake, DSNs and forwards all enqueue through it.
    const bodyStore = await openBodyStore(nc, settings);
    if (!options.queueSealKeys) logger.warn('no queue seal key given: sealing with a key of this process only (other processes cannot verify its records)');
    const seal = createRecordSeal(options.queueSealKeys ?? [randomBytes(32)]);
    const publisher = createPublisher({ nc, settings, bodyStore, isConnected: () => connection.connected, seal });
    storePressure = watchStorePressure({ nc, settings, logger });
    await storePressure.refresh().catch((err: unknown) => logger.warn('reading the queue store usage failed', { err }));
    addStorePressureMetrics(metrics.registry, storePressure);
    const pressure = storePressure;
    const getConfig = () => watcher.current as LoadedBundle;
    const hostname = options.hostname ?? first.bundle.domains[0]?.hostname ?? osHostname();
    const resolver = createDnsResolver({ servers: options.dnsServers ?? [] });
    const standards = options.standards ?? {};
    const standardsMetrics = createStandardsMetrics(metrics.registry);
    const spam = options.spam ?? {};
    const spamMetrics = createSpamMetrics(metrics.registry, spam.dnsblZones ?? []);
    // The mail checks' DNS: TTLs respected (dns/dns-cache.ts), the same servers as every other lookup.
    const dnsCache = createCachingResolver({
      query: createDnsClient({ servers: options.dnsServers?.length ? options.dnsServers : getServers() }),
      observer: { lookup: (o) => standardsMetrics.dnsLookup(o) },
      ...(standards.dnsCacheEntries ? { maxEntries: standards.dnsCacheEntries } : {}),
    });
    // Entries live as long as the longest window (an hour, or the AUTH window) plus a minute.
    const limitsTtl = Math.max(hourMs, options.sharedLimits?.authWindowMs ?? 0) + 60_000;
    const sharedLimits =
      options.sharedLimits === null
        ? null
        : { counters: createKvCounters(await openLimitsBucket(new Kvm(nc), settings.replicas, limitsTtl), now), settings: options.sharedLimits ?? {} };
    intake = createIntake({
      sharedLimits,
      listeners: options.listeners,
      ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
      getConfig,
      publisher,
      observer: metrics.intake,
      logger,
      hostname,
      resolver,
      defaultTls: options.defaultTls ?? null,
      dnsbl: spam.dnsblZones?.length
        ? createDnsblChecker({
            zones: spam.dnsblZones,
            cache: dnsCache,
            observer: spamMetrics.dnsbl,
            ...(spam.dnsblTimeoutMs !== undefined ? { timeoutMs: spam.dnsblTimeoutMs } : {}),
          })
        : null,
      spamFilter: spam.rspamd ? createSpamFilter({ ...spam.rspamd, observer: spamMetrics }) : null,
      storeNearFull: () => pressure.nearFull(),
      inboundChecks:
        standards.inboundChecks === false
          ? null
          : {
              cache: dnsCache,
              observer: standardsMetrics.inbound,
              ...(standards.dnsBudgetMs !== undefined ? { budgetMs: standards.dnsBudgetMs } : {}),
            },
    });
    await intake.listen();
    intakeListening = true;
    addMemoryBudgetMetric(metrics.registry, intake);
    if (standards.policyServer) {
      policyServer = await startPolicyServer({
        ...standards.policyServer,
        policies: () => servedPolicies(getConfig()),
        fallbackTls: options.defaultTls ?? (await generateSelfSignedCertificate([hostname])),
        logger,
        observer: (o) => standardsMetrics.policyServed(o),
      });
    }
    if (options.delivery) {
      let running: RunningDelivery | undefined = undefined;
      const observer = createDeliveryMetrics(metrics.registry, async () =>
        running ? await running.deferred() : { deferred: 0, due: 0, deadLetters: 0, quarantined: 0 },
      );
      const outbound = await startOutboundStandards({
        nc: deliveryNc,
        settings,
        publisher,
        getConfig,
        hostname,
        dnsCache,
        metrics: standardsMetrics,
        logger,
        instance: options.instance,
        now,
      });
      running = await startBundleDelivery(options.delivery, {
        nc: deliveryNc,
        settings,
        publisher,
        bodyStore: deliveryNc === nc ? bodyStore : await openBodyStore(deliveryNc, settings),
        getConfig,
        hostname,
        resolver,
        observer,
        logger,
        standards: outbound.transport,
        delayNoticeAfterMs: standards.delayNoticeAfterMs,
        now,
        onStop: () => outbound.stop(),
        seal,
      });
      delivery = running;
      orphans = startOrphanCollector({ nc, settings, bodyStore, logger, collected: orphanBodiesCounter(metrics.registry) });
      logger.info('delivery workers started');
    }
    logger.info('MTA started', { instance: options.instance, revision: watcher.current?.revision });
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err instanceof MtaStartError ? err : new MtaStartError(`start-up failed: ${describeError(err)}`, { cause: err });
  }

  let stopping: Promise<void> | null = null;
  return {
    opsPort: ops.port,
    shutdown(reason) {
      stopping ??= (async () => {
        logger.info('shutting down', { reason, sessionDeadlineMs: options.shutdownTimeoutMs });
        readiness.beginShutdown();
        await stopAll();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}

// The connect options of the intake and the delivery connection: their own users when both
// are configured, else one shared connection (docs/trust-model.md "NATS roles and TLS").
function roleConnections(options: MtaOptions): {
  separate: boolean;
  intake: Parameters<typeof queueConnectOptions>[0];
  delivery: Parameters<typeof queueConnectOptions>[0];
} {
  const { servers, tls, intake, delivery, user, pass, token } = options.nats;
  const shared: NatsCredentials = { ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}) };
  const base = { servers, ...(tls ? { tls } : {}) };
  const name = `stafette-mta/${options.instance}`;
  if (!intake && !delivery) return { separate: false, intake: { ...base, ...shared, name }, delivery: { ...base, ...shared, name } };
  if (!intake || !delivery) throw new MtaStartError('NATS role users come in pairs: set both the intake and the delivery user, or neither');
  return {
    separate: true,
    intake: { ...base, ...intake, name: `${name}/intake`, inboxPrefix: roleInboxPrefix('intake') },
    delivery: { ...base, ...delivery, name: `${name}/delivery`, inboxPrefix: roleInboxPrefix('delivery') },
  };
}

interface DeliveryWiring {
  readonly standards: OutboundStandards;
  readonly delayNoticeAfterMs: number | null | undefined;
  readonly now: () => number;
  readonly onStop: () => Promise<void>;
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly publisher: QueuePublisher;
  readonly bodyStore: ObjectStore;
  readonly getConfig: () => LoadedBundle;
  readonly hostname: string;
  readonly resolver: DnsResolver;
  readonly observer: DeliveryObserver;
  readonly logger: Logger;
  readonly seal: RecordSeal;
}

// Delivery as this process runs it: every transport behind the engine's seam (their pooled
// connections closed at stop), routing from the bundle in force, forwards and DSNs through
// the process's one publisher.
async function startBundleDelivery(options: MtaDeliveryOptions, w: DeliveryWiring): Promise<RunningDelivery> {
  const transports = createDeliveryTransports({
    config: w.getConfig,
    resolver: w.resolver,
    ...(options.mxPort !== undefined ? { mxPort: options.mxPort } : {}),
    ehloFallback: w.hostname,
    localMaildirRoot: options.localMaildirRoot,
    ...(options.targets ? { targets: options.targets } : {}),
    requeue: publisherRequeue(w.publisher),
    logger: w.logger,
    standards: w.standards,
  });
  const delivery = await startDelivery({
    nc: w.nc,
    settings: w.settings,
    publisher: w.publisher,
    bodyStore: w.bodyStore,
    transport: transports.transport,
    route: createRouter(() => w.getConfig().bundle, {
      localMaildirRoot: options.localMaildirRoot,
      srs: () => ({ keys: w.getConfig().secrets.srsKeys ?? [], now: w.now }),
    }),
    ...(w.delayNoticeAfterMs !== undefined ? { delayNoticeAfterMs: w.delayNoticeAfterMs } : {}),
    hostname: w.hostname,
    policy: retryPolicy(options.retryPolicy),
    logger: w.logger,
    observer: w.observer,
    seal: w.seal,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.maxDeliveries !== undefined ? { maxDeliveries: options.maxDeliveries } : {}),
  });
  return {
    deferred: () => deferredStats({ nc: w.nc, streams: delivery.streams }),
    async stop(deadlineMs) {
      await delivery.stop(deadlineMs);
      transports.close();
      await w.onStop();
    },
  };
}

// The MTA-STS policies of a bundle by policy host, each with its domain's certificate; built
// once per bundle object (a reload brings a new one).
const policiesOf = new WeakMap<LoadedBundle['bundle'], ReadonlyMap<string, ServedPolicy>>();
function servedPolicies(config: LoadedBundle): ReadonlyMap<string, ServedPolicy> {
  let map = policiesOf.get(config.bundle);
  if (!map) {
    map = new Map(
      config.bundle.domains.flatMap((d) =>
        d.mtaSts
          ? [
              [
                policyHostOf(d.domain),
                {
                  text: d.mtaSts.policy,
                  tls: d.tls ? (config.secrets.tlsCertificates[d.tls.secretName] ?? null) : null,
                },
              ] as const,
            ]
          : [],
      ),
    );
    policiesOf.set(config.bundle, map);
  }
  return map;
}

// At start the mount may not be there yet (or be half-updated): re-check twice a second.
async function waitForFirstBundle(loaded: () => boolean, recheck: () => void, now: () => number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!loaded() && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    recheck();
  }
}

function logBundleEvent(logger: Logger, event: BundleEvent): void {
  switch (event.kind) {
    case 'applied':
      logger.info('configuration bundle applied', { revision: event.revision, previous: event.previous });
      break;
    case 'refused':
      logger.error('configuration bundle refused; keeping the last good one', { errors: event.errors, keeping: event.keeping });
      break;
    case 'waiting':
      logger.info('configuration bundle half-updated; waiting for the other part', { reason: event.reason, keeping: event.keeping });
      break;
  }
}
