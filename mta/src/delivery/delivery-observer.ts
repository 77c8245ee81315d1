// What the delivery engine reports as it works, for metrics (the intake-observer pattern:
// the engine calls these; the metrics module binds them to prom-client). Labels stay low in
// cardinality: `destination` is a kind plus a domain/relay/host, never a recipient; the
// Prometheus binding (ops/delivery-metrics.ts) keeps only the kind and the relay.
//
// Gauges are not events: the deferred count and the oldest message's age come from
// queue-operations.ts deferredStats()/listDeferred() and queue/inspect.ts queueStats(),
// which a metrics collector polls.
import type { Destination } from './attempt.ts';

export type RecipientResult = 'delivered' | 'deferred' | 'skipped' | 'bounced' | 'expired';
export type JobResult = 'acked' | 'requeued' | 'lease_lost' | 'dead_letter' | 'quarantined' | 'shutdown';

export interface DeliveryObserver {
  /**
   * Recipients by what one attempt did to them, per destination: delivered, deferred (a
   * transient failure), bounced (a permanent one); `expired` additionally when a transient
   * failure came after the lifetime and became a bounce; `skipped` when the destination was
   * known to be down and the recipient was deferred without an attempt.
   */
  recipients(destination: string, result: RecipientResult, count: number): void;
  /** Accepted → delivered, per delivered recipient (the latency histogram). */
  deliveredLatency(seconds: number): void;
  /**
   * Time from the transport's answer (the remote 250) to the ledger's PubAck: the window in
   * which a crash makes a duplicate (docs/architecture.md §2 contract 2).
   */
  ledgerWindow(seconds: number): void;
  /** A DSN was queued, or one was dropped because the sender was <> (a double bounce). */
  dsn(event: 'queued' | 'queued_delay' | 'queued_success' | 'dropped_null_sender' | 'dropped_backscatter'): void;
  /** What became of a job taken from the queue; `source` is fresh mail or a retry. */
  job(source: 'fresh' | 'retry', result: JobResult): void;
  /** A record taken from the queue without a valid queue seal, delivered unvouched (queue/record-seal.ts). */
  unsealed?(reason: 'missing' | 'invalid'): void;
}

export const ignoreDeliveryEvents: DeliveryObserver = {
  recipients() {},
  deliveredLatency() {},
  ledgerWindow() {},
  dsn() {},
  job() {},
};

/** A label for a destination in observer events and logs: the kind plus the domain, relay or LMTP host (never a mailbox path or URL). */
export function destinationLabel(destination: Destination): string {
  switch (destination.kind) {
    case 'mx':
      return `mx:${destination.domain}`.slice(0, 100);
    case 'relay':
      return `relay:${destination.relayId}`.slice(0, 100);
    case 'lmtp':
      return `lmtp:${destination.host}`.slice(0, 100);
    default:
      return destination.kind;
  }
}

/**
 * The Prometheus label of a destination label: its kind, and for a relay its id (relays are
 * few and named in the bundle). Never a recipient domain or an LMTP host: those are unbounded
 * (one series per domain ever mailed, issue 14 item 7); they stay in the logs and in
 * `stafette queue deferred`.
 */
export function metricDestination(label: string): string {
  return label.startsWith('relay:') ? label : (label.split(':')[0] ?? label);
}
