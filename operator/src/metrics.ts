// The operator's metrics, on its own registry: stafette_operator_<name>_<unit|total>.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  /** result: success | error; controller: bundle | domain */
  reconciles: Counter<'controller' | 'result'>;
  reconcileSeconds: Histogram<'controller'>;
  queueDepth: Gauge;
  reconcilesInFlight: Gauge;
  leader: Gauge;
  informerRestarts: Counter<'resource'>;
  /** HTTP connections (TLS handshakes to the API server) and requests of this process (kube/connections.ts). */
  httpConnections: Counter;
  httpRequests: Counter;
  /** verb: apply | status | create | annotate | delete: writes sent to the API server. */
  apiWrites: Counter<'verb'>;
  bundleWrites: Counter;
  bundleRevision: Gauge<'revision'>;
  /** Resources left out of the bundle because the MTA's bundle check would refuse their part (render/bundle-guard.ts). */
  bundleCheckRefused: Gauge;
  /** type: Normal | Warning; outcome: created | updated | counted | dropped | failed (kube/event-recorder.ts) */
  events: Counter<'type' | 'outcome'>;
  /** result: found | absent | failed (ownership/domain-verifier.ts) */
  domainChallenges: Counter<'result'>;
}

export function operatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stafette_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'stafette_operator_reconciles_total',
      help: 'Reconciles by controller (bundle, domain) and result (success, error).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'stafette_operator_reconcile_duration_seconds',
      help: 'How long reconciles take.',
      labelNames: ['controller'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'stafette_operator_workqueue_depth', help: 'Keys waiting in the work queue.', registers: [registry] }),
    reconcilesInFlight: new Gauge({
      name: 'stafette_operator_reconciles_in_flight',
      help: 'Reconciles running now, by controller (a bundle reconcile verifying a thousand password hashes runs for many seconds).',
      labelNames: ['controller'],
      registers: [registry],
    }),
    leader: new Gauge({ name: 'stafette_operator_leader', help: '1 while this replica holds the leader lease.', registers: [registry] }),
    informerRestarts: new Counter({
      name: 'stafette_operator_informer_restarts_total',
      help: 'Informers restarted after an error, by resource.',
      labelNames: ['resource'],
      registers: [registry],
    }),
    httpConnections: new Counter({
      name: 'stafette_operator_http_connections_total',
      help: 'HTTP connections opened (one TLS handshake each), to the API server mostly.',
      registers: [registry],
    }),
    httpRequests: new Counter({ name: 'stafette_operator_http_requests_total', help: 'HTTP requests sent, to the API server mostly.', registers: [registry] }),
    apiWrites: new Counter({
      name: 'stafette_operator_api_writes_total',
      help: 'Writes sent to the API server, by verb (apply, status, create, annotate, delete).',
      labelNames: ['verb'],
      registers: [registry],
    }),
    bundleWrites: new Counter({ name: 'stafette_operator_bundle_writes_total', help: 'Bundle revisions written.', registers: [registry] }),
    bundleRevision: new Gauge({
      name: 'stafette_operator_bundle_info',
      help: 'The bundle revision last written (value 1).',
      labelNames: ['revision'],
      registers: [registry],
    }),
    bundleCheckRefused: new Gauge({
      name: 'stafette_operator_bundle_check_refused',
      help: 'Resources left out of the bundle at the last render because the MTA would refuse their part or it would overflow a bundle object (reason BundleCheckFailed).',
      registers: [registry],
    }),
    events: new Counter({
      name: 'stafette_operator_events_total',
      help: 'Events recorded, by type and outcome: created, updated (a series count written), counted (folded into a series), dropped (queue full), failed.',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    domainChallenges: new Counter({
      name: 'stafette_operator_domain_challenge_lookups_total',
      help: 'DNS lookups of domain ownership challenges, by result: found (the record is there), absent (DNS answered without it), failed (no answer; the last one stands).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
