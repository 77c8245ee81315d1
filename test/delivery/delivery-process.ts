// A delivery-only MTA process for the multi-process tests: connects to NATS with the
// production options, starts the delivery engine with bundle routing (empty bundle: every
// domain remote) and the sink transport, and logs JSON lines. On SIGTERM it stops within 5 s
// and logs a summary, including the measured duplicate window (remote 250 → ledger PubAck).
//
// Environment: NATS_URL, ROUTES (JSON: domain → {host, port}), NAME, WORKERS, ACK_WAIT_MS.
import { connect } from '@nats-io/transport-node';
import { jsonLogger } from '../../observability/logger.ts';
import { createPublisher, openBodyStore, queueConnectOptions, queueSettings } from '../../mta/src/queue/index.ts';
import { createRouter, retryPolicy, startDelivery } from '../../mta/src/delivery/index.ts';
import type { DeliveryObserver } from '../../mta/src/delivery/delivery-observer.ts';
import { emptyBundle } from './delivery-fixture.ts';
import { sinkTransport } from './sink-transport.ts';
import type { SinkAddress } from './sink-transport.ts';

const name = process.env.NAME ?? 'delivery';
const logger = jsonLogger({ base: { process: name } });
const windows: number[] = [];
const counts = new Map<string, number>();
const inc = (k: string, n = 1) => counts.set(k, (counts.get(k) ?? 0) + n);
const observer: DeliveryObserver = {
  recipients: (d, r, n) => inc(`${r}:${d}`, n),
  deliveredLatency: () => {},
  ledgerWindow: (s) => windows.push(s * 1000),
  dsn: (e) => inc(`dsn:${e}`),
  job: (s, r) => inc(`job:${s}:${r}`),
};

const nc = await connect(queueConnectOptions({ servers: process.env.NATS_URL!, name }));
const settings = queueSettings({ ackWaitMs: Number(process.env.ACK_WAIT_MS ?? 5_000) });
const bodyStore = await openBodyStore(nc, settings);
const publisher = createPublisher({ nc, settings, bodyStore });
const delivery = await startDelivery({
  nc,
  settings,
  publisher,
  bodyStore,
  transport: sinkTransport(JSON.parse(process.env.ROUTES!) as Record<string, SinkAddress>, { helo: name, timeoutMs: 20_000 }),
  route: createRouter(emptyBundle, { localMaildirRoot: '/nonexistent' }),
  hostname: `${name}.stafette.test`,
  policy: retryPolicy({ delaysMs: [1_000, 2_000] }),
  workers: Number(process.env.WORKERS ?? 4),
  logger,
  observer,
});
logger.info('ready');

// The process exits at the end of the handler; nothing awaits it.
process.once(
  'SIGTERM',
  () =>
    void (async () => {
      await delivery.stop(5_000);
      const sorted = [...windows].sort((a, b) => a - b);
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null);
      logger.info('summary', {
        counts: Object.fromEntries(counts),
        ledgerWindowMs: { n: sorted.length, p50: pct(0.5), p99: pct(0.99), max: sorted.at(-1) ?? null },
      });
      await nc.close();
      process.exit(0);
    })(),
);
