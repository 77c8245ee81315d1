// The MTA process: wiring only. Configuration → operations endpoint → NATS → queue setup →
// SMTP intake, and the orderly way back down on SIGTERM.
//
// The operations endpoint starts first on purpose: the first bundle may take a moment to be
// mounted and `connect` waits for NATS as long as it takes (waitOnFirstConnect); meanwhile
// the kubelet must see a live process (/healthz 200) that is not ready (/readyz 503 with the
// reason), not a dead one to restart.
//
// Shutdown (reliability.md §3 scenario 44): readiness turns false at once, so the Service
// stops routing new connections here (the pod's preStop sleep covers the time the endpoint
// removal takes); then the intake stops accepting, lets sessions in flight finish until the
// deadline and answers 421 to the rest; then the NATS connection is drained, so every
// publish that got its 250 has its ack, and the process exits 0.
import type { ObjectStore } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { bundleSources } from './config/load-bundle.ts';
import { createBundleWatcher, type BundleEvent, type LoadedBundle } from './config/watch-bundle.ts';
import { startOpsServer, type OpsServer } from './ops/http-server.ts';
import type { Logger } from './ops/logger.ts';
import { createMetrics } from './ops/metrics.ts';
import { createPodReadiness } from './ops/pod-readiness.ts';
import { addQueueDepthMetrics } from './ops/queue-depth-metrics.ts';
import {
  createPublisher, createQueueReadiness, ensureQueue, openBodyStore, queueConnectOptions, queueSettings, queueStats, watchConnection,
  type ConnectionWatch, type QueuePublisher, type QueueReadiness, type QueueSettings,
} from './queue/index.ts';
import type { IntakeObserver } from './smtp/intake-observer.ts';
import type { DeliveryObserver } from './delivery/delivery-observer.ts';
import type { DeferredStats } from './delivery/queue-operations.ts';
import { createDeliveryMetrics } from './ops/delivery-metrics.ts';

export interface MtaOptions {
  readonly configDir: string;
  /** Defaults to configDir. */
  readonly secretDir?: string;
  readonly nats: { readonly servers: string[]; readonly user?: string; readonly pass?: string; readonly token?: string };
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
}

/** The part of the SMTP intake main needs: start listening, stop within a deadline. */
export interface RunningIntake {
  listen(): Promise<void>;
  /** Stops accepting, lets sessions finish until `deadlineMs`, then answers 421 to the rest. */
  close(deadlineMs: number): Promise<void>;
}

/** What the intake is given; the real factory is createIntake in smtp/index.ts. */
export interface IntakeWiring {
  readonly getConfig: () => LoadedBundle;
  readonly publisher: QueuePublisher;
  readonly observer: IntakeObserver;
  readonly logger: Logger;
}

/** What delivery is given; the real factory is startBundleDelivery in delivery/start-from-bundle.ts. */
export interface DeliveryWiring {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly publisher: QueuePublisher;
  readonly bodyStore: ObjectStore;
  readonly getConfig: () => LoadedBundle;
  readonly observer: DeliveryObserver;
  readonly logger: Logger;
}

export interface RunningDeliveryWorkers {
  deferred(): Promise<DeferredStats>;
  /** Stops pulling; jobs in flight get the deadline, then go back to the queue. */
  stop(deadlineMs: number): Promise<void>;
}

export interface MtaDependencies {
  readonly logger: Logger;
  readonly createIntake: (wiring: IntakeWiring) => RunningIntake;
  /** Delivery workers; without it this process only receives (an intake-only pod). */
  readonly createDelivery?: (wiring: DeliveryWiring) => Promise<RunningDeliveryWorkers>;
  /** Wall clock, milliseconds since the epoch. */
  readonly now?: () => number;
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

export async function startMta(options: MtaOptions, deps: MtaDependencies): Promise<RunningMta> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
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

  await waitForFirstBundle(() => watcher.current !== null, () => watcher.check(), now, options.firstBundleTimeoutMs ?? 60_000);
  const first = watcher.current as LoadedBundle | null;
  if (first === null) {
    watcher.stop();
    await ops.close();
    throw new MtaStartError(`no valid configuration bundle in ${sources.configDir} and ${sources.secretDir}; see the refusal logged above`);
  }

  let nc: NatsConnection | undefined;
  let watch: ConnectionWatch | undefined;
  let intake: RunningIntake | undefined;
  let delivery: RunningDeliveryWorkers | undefined;
  const stopAll = async () => {
    // Intake and delivery stop side by side: sessions finish their DATA while workers
    // finish (or hand back) their transactions, both before the connection is drained.
    await Promise.all([intake?.close(options.shutdownTimeoutMs), delivery?.stop(options.shutdownTimeoutMs)]);
    watcher.stop();
    watch?.stop();
    // drain: lets in-flight requests finish and flushes, then closes.
    if (nc && !nc.isClosed()) await nc.drain().catch((err: unknown) => logger.warn('draining the NATS connection failed', { err }));
    await ops.close();
  };

  try {
    logger.info('connecting to NATS', { servers: options.nats.servers });
    nc = await connect(queueConnectOptions({ ...options.nats, name: `stafette-mta/${options.instance}` }));
    const setup = await ensureQueue(nc, settings);
    logger.info('queue ready', { stream: settings.streamName, ...setup });
    watch = watchConnection(nc);
    const connected = nc;
    const connection = watch;
    queueReadiness = createQueueReadiness({ nc: connected, settings, watch: connection });
    addQueueDepthMetrics(metrics.registry, { readStats: () => queueStats({ nc: connected, settings }), now });
    // One publisher per process: intake, DSNs and forwards all enqueue through it.
    const bodyStore = await openBodyStore(nc, settings);
    const publisher = createPublisher({ nc, settings, bodyStore, isConnected: () => connection.connected });
    intake = deps.createIntake({
      getConfig: () => watcher.current as LoadedBundle,
      publisher,
      observer: metrics.intake,
      logger,
    });
    await intake.listen();
    intakeListening = true;
    if (deps.createDelivery) {
      let running: RunningDeliveryWorkers | undefined;
      const observer = createDeliveryMetrics(metrics.registry, async () => (running ? await running.deferred() : { deferred: 0, due: 0, deadLetters: 0 }));
      running = await deps.createDelivery({ nc, settings, publisher, bodyStore, getConfig: () => watcher.current as LoadedBundle, observer, logger });
      delivery = running;
      logger.info('delivery workers started');
    }
    logger.info('MTA started', { instance: options.instance, revision: watcher.current?.revision });
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err instanceof MtaStartError ? err : new MtaStartError(`start-up failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
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
