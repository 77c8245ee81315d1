// The MTA process, composed in one place: configuration → operations endpoint → NATS → queue
// setup → the one publisher → SMTP intake and delivery (engine, transports, routing from the
// bundle in force) on one DNS resolver, and the orderly way back down on SIGTERM. The CLI
// (cli/mta-command.ts) only turns flags into MtaOptions; every default lives with the part
// it configures.
// Self-contained blocks of the wiring live beside it, each called from here: compose-mail-checks.ts
// (the inbound checks and spam checks on their DNS cache), compose-delivery.ts (transports,
// routing, the engine), compose-mta-sts.ts (the policies we serve), compose-nats-roles.ts (the
// role connections) and compose-bundle-watch.ts (the first bundle, the watcher's log).
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
import { hostname as osHostname } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { Logger } from '../../observability/logger.ts';
import { startOpsServer, type OpsServer } from '../../observability/ops-server.ts';
import { logBundleEvent, waitForFirstBundle } from './compose-bundle-watch.ts';
import { startBundleDelivery, type MtaDeliveryOptions, type RunningDelivery } from './compose-delivery.ts';
import { composeMailChecks, type MtaSpamOptions, type MtaStandardsOptions } from './compose-mail-checks.ts';
import { servedPolicies } from './compose-mta-sts.ts';
import { roleConnections, type MtaNatsOptions } from './compose-nats-roles.ts';
import { bundleSources } from './config/load-bundle.ts';
import { createBundleWatcher, type LoadedBundle } from './config/watch-bundle.ts';
import { createDnsResolver } from './dns.ts';
import { describeError } from './errors.ts';
import { startPolicyServer, type PolicyServer } from './mta-sts/policy-server.ts';
import { buildTrustStore, installTrustStore } from './outbound-tls/trust-store.ts';
import { startOutboundStandards } from './outbound-wiring.ts';
import { createDeliveryMetrics } from './ops/delivery-metrics.ts';
import { createMetrics } from './ops/metrics.ts';
import { createPodReadiness } from './ops/pod-readiness.ts';
import {
  addDeliveryMemoryMetric,
  addMemoryBudgetMetric,
  addQueueDepthMetrics,
  addStorePressureMetrics,
  orphanBodiesCounter,
} from './ops/queue-depth-metrics.ts';
import { hourMs, type SharedLimitSettings } from './policy/shared-limits.ts';
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
  type QueueReadiness,
  type QueueSettings,
} from './queue/index.ts';
import { startOrphanCollector, type OrphanCollector } from './queue/orphan-collector.ts';
import { createKvCounters, openLimitsBucket } from './queue/shared-counters.ts';
import { watchStorePressure, type StorePressure } from './queue/store-pressure.ts';
import { createIntake, type Intake, type ListenerConfig, type TlsMaterial } from './smtp/index.ts';
import { generateSelfSignedCertificate } from './smtp/self-signed-certificate.ts';
import { MtaStartError } from './start-error.ts';

export type { MtaDeliveryOptions } from './compose-delivery.ts';
export type { MtaSpamOptions, MtaStandardsOptions } from './compose-mail-checks.ts';
export type { MtaNatsOptions } from './compose-nats-roles.ts';
export { MtaStartError } from './start-error.ts';

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
  /** How long to wait at start for a first valid bundle before giving up (default: no limit; see waitForFirstBundle). */
  readonly firstBundleTimeoutMs?: number;
  /** The SMTP listeners to open (smtp/listener-config.ts: listenerConfig, defaultListeners). */
  readonly listeners: readonly ListenerConfig[];
  /** Bytes of message data intake may hold at once (default defaultMemoryBudgetBytes, smtp/memory-budget.ts). */
  readonly memoryBudgetBytes?: number;
  /** Past this many bytes a message streams to the Object Store during DATA (default defaultStreamThresholdBytes, smtp/body-streaming.ts). */
  readonly streamThresholdBytes?: number;
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

export interface RunningMta {
  readonly opsPort: number;
  /** The orderly stop; safe to call more than once (later calls wait for the first). */
  shutdown(reason: string): Promise<void>;
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
    options.firstBundleTimeoutMs,
    (waitedMs) =>
      logger.info('still waiting for the first configuration bundle (not ready until then)', {
        waitedSeconds: Math.round(waitedMs / 1000),
        configDir: sources.configDir,
        secretDir: sources.secretDir,
      }),
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
    // The intake user may not purge, so a refused streamed body is deleted as the delivery user
    // (queue/body-stream.ts); without a delivery connection the orphan collector of another pod does.
    const discardStore = !roles.separate ? bodyStore : options.delivery ? await openBodyStore(deliveryNc, settings) : null;
    const publisher = createPublisher({ nc, settings, bodyStore, discardStore, isConnected: () => connection.connected, seal });
    storePressure = watchStorePressure({ nc, settings, logger });
    await storePressure.refresh().catch((err: unknown) => logger.warn('reading the queue store usage failed', { err }));
    addStorePressureMetrics(metrics.registry, storePressure);
    const pressure = storePressure;
    const getConfig = () => watcher.current as LoadedBundle;
    const hostname = options.hostname ?? first.bundle.domains[0]?.hostname ?? osHostname();
    const resolver = createDnsResolver({ servers: options.dnsServers ?? [] });
    const standards = options.standards ?? {};
    // The mail checks' DNS cache and metrics serve intake, delivery and the policy server.
    const checks = composeMailChecks(metrics.registry, {
      ...(options.dnsServers ? { dnsServers: options.dnsServers } : {}),
      standards,
      spam: options.spam ?? {},
    });
    const { dnsCache, standardsMetrics } = checks;
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
      ...(options.streamThresholdBytes !== undefined ? { streamThresholdBytes: options.streamThresholdBytes } : {}),
      getConfig,
      publisher,
      observer: metrics.intake,
      logger,
      hostname,
      resolver,
      defaultTls: options.defaultTls ?? null,
      ...checks.intake,
      storeNearFull: () => pressure.nearFull(),
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
      const deliveryBodyStore = deliveryNc === nc ? bodyStore : await openBodyStore(deliveryNc, settings);
      // One threshold both ways: a body intake streamed into the Object Store streams out again
      // (docs/reliability.md "Limits"), unless the delivery options say otherwise.
      const streamFrom = options.delivery.streamFromBytes ?? options.streamThresholdBytes;
      running = await startBundleDelivery(
        { ...options.delivery, ...(streamFrom !== undefined ? { streamFromBytes: streamFrom } : {}) },
        {
          nc: deliveryNc,
          settings,
          publisher,
          bodyStore: deliveryBodyStore,
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
        },
      );
      delivery = running;
      addDeliveryMemoryMetric(metrics.registry, () => running?.memory() ?? null);
      // On the delivery connection: it reads jobs (which intake may not) and deletes bodies.
      orphans = startOrphanCollector({ nc: deliveryNc, settings, bodyStore: deliveryBodyStore, logger, collected: orphanBodiesCounter(metrics.registry) });
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
