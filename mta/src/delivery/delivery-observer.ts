import type { Destination } from './attempt.ts';

// What the delivery engine reports as it works, for metrics (the intake-observer pattern:
// the engine calls these; the metrics module binds them to prom-client). Labels stay low in
// cardinality: `destination` is a kind plus a domain/relay/host, never a recipient.

export type RecipientResult = 'delivered' | 'deferred' | 'bounced' | 'expired';
export type JobResult = 'acked' | 'requeued' | 'lease_lost' | 'dead_letter' | 'shutdown';

export interface DeliveryObserver {
  /** Recipients that reached a result in one attempt, by destination. */
  recipients(destination: string, result: RecipientResult, count: number): void;
  /** Accepted → delivered, per delivered recipient (the latency histogram). */
  deliveredLatency(seconds: number): void;
  /**
   * Time from the transport's answer (the remote 250) to the ledger's PubAck: the window in
   * which a crash makes a duplicate (DESIGN.md contract 2).
   */
  ledgerWindow(seconds: number): void;
  /** A DSN was queued, or one was dropped because the sender was <> (a double bounce). */
  dsn(event: 'queued' | 'dropped_null_sender'): void;
  /** What became of a job taken from the queue; `source` is fresh mail or a retry. */
  job(source: 'fresh' | 'retry', result: JobResult): void;
}

export const ignoreDeliveryEvents: DeliveryObserver = {
  recipients() {},
  deliveredLatency() {},
  ledgerWindow() {},
  dsn() {},
  job() {},
};

/** A metrics label for a destination: the kind plus the domain, relay or LMTP host (never a mailbox path or URL). */
export function destinationLabel(destination: Destination): string {
  switch (destination.kind) {
    case 'mx': return `mx:${destination.domain}`.slice(0, 100);
    case 'relay': return `relay:${destination.relayId}`.slice(0, 100);
    case 'lmtp': return `lmtp:${destination.host}`.slice(0, 100);
    default: return destination.kind;
  }
}
