// The delivery engine's metrics (DeliveryObserver bound to prom-client), on the MTA's registry:
//
//   stafette_delivery_recipients_total{destination,result}   delivered|deferred|skipped|bounced|expired; destination: mx, lmtp, maildir, ... or relay:<id>
//   stafette_delivery_latency_seconds                        accepted → delivered, per recipient
//   stafette_delivery_ledger_window_seconds                  remote 250 → ledger PubAck (the duplicate window)
//   stafette_delivery_dsn_total{event}                       queued (failure) | queued_delay | queued_success | dropped_null_sender | dropped_backscatter
//   stafette_delivery_jobs_total{source,result}              what became of each job taken from the queue
//   stafette_delivery_deferred_messages                      waiting for a retry (polled at scrape)
//   stafette_delivery_due_retries                            retries due and waiting for a worker
//   stafette_delivery_quarantined_jobs                       jobs quarantined after --max-deliveries (alert on > 0)
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DeferredStats } from '../delivery/queue-operations.ts';
import { metricDestination, type DeliveryObserver } from '../delivery/delivery-observer.ts';

export function createDeliveryMetrics(registry: Registry, readDeferred: () => Promise<DeferredStats>): DeliveryObserver {
  const registers = [registry];
  const recipients = new Counter({
    name: 'stafette_delivery_recipients_total',
    help: 'Recipients by destination and what an attempt did to them.',
    labelNames: ['destination', 'result'],
    registers,
  });
  const latency = new Histogram({
    name: 'stafette_delivery_latency_seconds',
    help: 'Time from acceptance (250) to delivery, per recipient.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600, 14_400, 86_400],
    registers,
  });
  const ledger = new Histogram({
    name: 'stafette_delivery_ledger_window_seconds',
    help: 'Time from a remote 250 to the ledger record of it: a crash inside it delivers twice.',
    // Up to the ledger retry's 5 min (delivery/engine.ts): a slow write during a NATS election is seen, not lumped into "> 1 s".
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const dsn = new Counter({
    name: 'stafette_delivery_dsn_total',
    help: 'Delivery status notifications queued, or dropped: the sender was <>, or likely forged (SPF or DMARC fail at intake).',
    labelNames: ['event'],
    registers,
  });
  const jobs = new Counter({
    name: 'stafette_delivery_jobs_total',
    help: 'Jobs taken from the queue (fresh or retry) by result.',
    labelNames: ['source', 'result'],
    registers,
  });
  const unsealed = new Counter({
    name: 'stafette_delivery_unsealed_records_total',
    help: 'Records taken from the queue (each attempt) without a valid queue seal, by reason (missing, invalid); delivered unsigned, as mail nobody vouched for.',
    labelNames: ['reason'],
    registers,
  });
  // Present from the start, so a rate() over them works before the first one.
  for (const reason of ['missing', 'invalid']) unsealed.inc({ reason }, 0);
  const deferred = new Gauge({ name: 'stafette_delivery_deferred_messages', help: 'Messages waiting for a retry (held ones included).', registers });
  new Gauge({
    name: 'stafette_delivery_due_retries',
    help: 'Retries that are due and wait for a worker.',
    registers,
    async collect() {
      try {
        const stats = await readDeferred();
        deferred.set(stats.deferred);
        quarantined.set(stats.quarantined);
        this.set(stats.due);
      } catch {
        // NATS unreachable: keep the last values; /readyz says why.
      }
    },
  });
  // Registered after the gauge whose collect sets it, so a scrape shows this scrape's value.
  const quarantined = new Gauge({
    name: 'stafette_delivery_quarantined_jobs',
    help: 'Jobs quarantined after too many deliveries, waiting for `stafette queue quarantine`.',
    registers,
  });
  return {
    recipients: (destination, result, count) => recipients.inc({ destination: metricDestination(destination), result }, count),
    deliveredLatency: (seconds) => latency.observe(seconds),
    ledgerWindow: (seconds) => ledger.observe(seconds),
    dsn: (event) => dsn.inc({ event }),
    job: (source, result) => jobs.inc({ source, result }),
    unsealed: (reason) => unsealed.inc({ reason }),
  };
}
