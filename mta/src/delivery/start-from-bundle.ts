// Delivery as the MTA process runs it: the transports behind the seam, routing from the
// bundle in force, and the engine consuming the shared queue. main.ts calls this once the
// queue is set up; stop() hands jobs in flight back and closes pooled connections.
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Bundle, BundleSecrets } from '../config/bundle-schema.ts';
import type { Logger } from '../ops/logger.ts';
import type { QueuePublisher, QueueSettings } from '../queue/index.ts';
import { createDnsResolver } from '../dns.ts';
import type { DeliveryObserver } from './delivery-observer.ts';
import { publisherRequeue } from '../transport/forward.ts';
import { deferredStats, type DeferredStats } from './queue-operations.ts';
import { startDelivery } from './index.ts';
import { retryPolicy, type RetryPolicy } from './retry-policy.ts';
import { createDeliveryTransports } from '../transport/transport-set.ts';

export interface BundleDeliveryOptions {
  /** Workers for fresh mail per process (retries get half). */
  workers: number;
  /** Where mailboxes with the default (`local`) delivery get their maildir: <root>/<address>/. */
  localMaildirRoot: string;
  /** DNS servers for MX lookups; empty means the system's. */
  dnsServers: string[];
  /** The port of remote MX hosts: 25, except in tests. */
  outboundPort: number;
  /** Our name in DSNs (Reporting-MTA, MAILER-DAEMON@). */
  hostname: string;
  policy?: Partial<RetryPolicy>;
}

export interface BundleDeliveryWiring {
  nc: NatsConnection;
  settings: QueueSettings;
  publisher: QueuePublisher;
  bodyStore: ObjectStore;
  getConfig: () => { bundle: Bundle; secrets: BundleSecrets };
  logger: Logger;
  observer: DeliveryObserver;
}

export interface RunningDelivery {
  /** Messages waiting for retries, for the metrics. */
  deferred(): Promise<DeferredStats>;
  stop(deadlineMs: number): Promise<void>;
}

export async function startBundleDelivery(wiring: BundleDeliveryWiring, options: BundleDeliveryOptions): Promise<RunningDelivery> {
  const transports = createDeliveryTransports({
    config: wiring.getConfig,
    resolver: createDnsResolver({ servers: options.dnsServers }),
    mxPort: options.outboundPort,
    ehloFallback: options.hostname,
    requeue: publisherRequeue(wiring.publisher),
    logger: wiring.logger,
  });
  const delivery = await startDelivery({
    nc: wiring.nc,
    settings: wiring.settings,
    publisher: wiring.publisher,
    bodyStore: wiring.bodyStore,
    transport: transports.transport,
    getConfig: () => wiring.getConfig().bundle,
    routing: { localMaildirRoot: options.localMaildirRoot },
    hostname: options.hostname,
    policy: retryPolicy(options.policy),
    logger: wiring.logger,
    observer: wiring.observer,
    workers: options.workers,
  });
  return {
    deferred: () => deferredStats({ nc: wiring.nc, streams: delivery.streams }),
    async stop(deadlineMs) {
      await delivery.stop(deadlineMs);
      transports.close();
    },
  };
}
