// Shared set-up for delivery integration tests: a real nats-server, the queue, real smtp-sink
// receivers on 127.0.0.x, and the delivery engine started in-process with bundle routing
// (an empty bundle: every domain is remote, so each goes to its "MX", here a sink).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { minimalBundle } from '../../mta/src/config/load-bundle-fixture.ts';
import { jsonLogger, silentLogger, type Logger } from '../../observability/logger.ts';
import { createRouter, startDelivery, type DeliveryHandle, type RetryPolicy, type Router, type StartDeliveryOptions } from '../../mta/src/delivery/index.ts';
import type { DeliveryObserver } from '../../mta/src/delivery/delivery-observer.ts';
import type { QueueSettings } from '../../mta/src/queue/index.ts';
import { openQueue, type QueueFixture } from '../queue/queue-fixture.ts';
import { sinkTransport, type SinkAddress } from './sink-transport.ts';

export const emptyBundle = () => {
  const { bundle } = minimalBundle('r1', [], 'local.test');
  return { ...bundle, domains: [] };
};

export function testDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `stafette-${name}-`));
}

export async function openDeliveryQueue(url: string | string[], overrides: Partial<QueueSettings> = {}): Promise<QueueFixture> {
  return await openQueue(url, { ackWaitMs: 5_000, ...overrides });
}

/** Counts observer events, for assertions on what happened (not on timing). */
export function countingObserver(): DeliveryObserver & { counts: Map<string, number>; get(key: string): number } {
  const counts = new Map<string, number>();
  const inc = (key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);
  return {
    counts,
    get: (key) => counts.get(key) ?? 0,
    recipients: (destination, result, n) => inc(`${result}:${destination}`, n),
    deliveredLatency: () => inc('latency'),
    ledgerWindow: () => inc('ledger'),
    dsn: (event) => inc(`dsn:${event}`),
    job: (source, result) => inc(`job:${source}:${result}`),
  };
}

export async function startTestDelivery(
  q: QueueFixture,
  routes: Record<string, SinkAddress>,
  opts: {
    policy: RetryPolicy;
    observer?: DeliveryObserver;
    workers?: number;
    attemptTimeoutMs?: number;
    logger?: Logger;
    deadDestinationMs?: number;
    /** Any other delivery option (max deliveries, ledger retry, requeue delay). */
    extra?: Partial<Pick<StartDeliveryOptions, 'maxDeliveries' | 'ledgerRetryMs' | 'requeueDelayMs'>>;
    /** Wraps the fixture's router (a poison-record test makes it throw). */
    route?: (base: Router) => Router;
  },
): Promise<DeliveryHandle> {
  return await startDelivery({
    nc: q.nc,
    settings: q.settings,
    publisher: q.publisher,
    bodyStore: q.bodyStore,
    transport: sinkTransport(routes, { timeoutMs: opts.attemptTimeoutMs ?? 10_000 }),
    route: (opts.route ?? ((base: Router) => base))(createRouter(emptyBundle, { localMaildirRoot: '/nonexistent' })),
    hostname: 'mx.stafette.test',
    policy: opts.policy,
    observer: opts.observer,
    workers: opts.workers ?? 4,
    attemptTimeoutMs: opts.attemptTimeoutMs ?? 10_000,
    ...(opts.deadDestinationMs !== undefined ? { deadDestinationMs: opts.deadDestinationMs } : {}),
    ...opts.extra,
    logger: opts.logger ?? (process.env.STAFETTE_TEST_LOG ? jsonLogger({ level: 'debug' }) : silentLogger),
  });
}

/** Messages in a stream (jobs waiting, schedules held). */
export async function streamMessages(q: QueueFixture, stream: string): Promise<number> {
  const jsm = await jetstreamManager(q.nc);
  return (await jsm.streams.info(stream)).state.messages;
}
