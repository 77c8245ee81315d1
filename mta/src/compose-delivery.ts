// Part of the MTA's composition (main.ts): delivery as this process runs it. Every transport
// behind the engine's seam (their pooled connections closed at stop), routing from the bundle
// in force, forwards and DSNs through the process's one publisher.
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DeliveryTargetPolicy } from '../../bundle/delivery-targets.ts';
import type { Logger } from '../../observability/logger.ts';
import type { LoadedBundle } from './config/watch-bundle.ts';
import { createRouter, startDelivery } from './delivery/index.ts';
import type { DeliveryObserver } from './delivery/delivery-observer.ts';
import { deferredStats, type DeferredStats } from './delivery/queue-operations.ts';
import { retryPolicy, type RetryPolicy } from './delivery/retry-policy.ts';
import type { DnsResolver } from './dns.ts';
import type { QueuePublisher, QueueSettings, RecordSeal } from './queue/index.ts';
import { publisherRequeue } from './transport/forward.ts';
import type { OutboundStandards } from './transport/outbound-standards.ts';
import { createDeliveryTransports } from './transport/transport-set.ts';

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
  /** Body bytes delivery may hold at once (default defaultDeliveryMemoryBytes, delivery/byte-budget.ts). */
  readonly memoryBudgetBytes?: number;
  /** Object Store bodies from this size on are sent as they are read (default defaultStreamFromBytes, delivery/byte-budget.ts). */
  readonly streamFromBytes?: number;
}

export interface RunningDelivery {
  /** Messages waiting for retries, for the metrics. */
  deferred(): Promise<DeferredStats>;
  /** Body bytes held now and the budget (delivery/byte-budget.ts), for the metrics. */
  memory(): { used: number; capacity: number };
  /** Stops pulling; jobs in flight get the deadline, then go back to the queue. */
  stop(deadlineMs: number): Promise<void>;
}

export interface DeliveryWiring {
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

export async function startBundleDelivery(options: MtaDeliveryOptions, w: DeliveryWiring): Promise<RunningDelivery> {
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
    ...(options.streamFromBytes !== undefined ? { streamFromBytes: options.streamFromBytes } : {}),
    ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
  });
  return {
    deferred: () => deferredStats({ nc: w.nc, streams: delivery.streams }),
    memory: () => delivery.memory(),
    async stop(deadlineMs) {
      await delivery.stop(deadlineMs);
      transports.close();
      await w.onStop();
    },
  };
}
