// Every MTA metric, defined once, in its own registry (so tests can create many).
// Names follow stafette_<subsystem>_<name>_<unit|total>. Label values are bounded: listener
// names come from configuration, verbs are folded to the SMTP verbs below, rejection
// reasons are the intake's named rules (intake-observer.ts).
//
//   stafette_smtp_sessions_total{listener}                 connections accepted
//   stafette_smtp_sessions_active{listener}                connections open now
//   stafette_smtp_commands_total{listener,verb}            SMTP commands received
//   stafette_smtp_messages_accepted_total{listener}        messages answered 250 (queued)
//   stafette_smtp_accepted_bytes_total{listener}           body bytes of those messages
//   stafette_smtp_rejections_total{listener,reason}        refused commands and messages
//   stafette_smtp_auth_attempts_total{listener,outcome}    AUTH success | failure
//   stafette_smtp_auth_password_checks_total{listener,against}  scrypt runs: stored | decoy hash
//   stafette_queue_publish_duration_seconds{listener}      end of DATA to JetStream ack
//   stafette_queue_ready                                   1 while the queue answers
//   stafette_config_bundle_info{revision}                  1 for the bundle in force
//   stafette_config_last_load_result{result}               1 for the last result: applied | refused | waiting
//   stafette_config_last_load_timestamp_seconds            when the bundle was last read with a new result
//   stafette_config_reloads_total                          bundles applied
//   stafette_config_reload_failures_total                  bundles refused
// plus the queue depth gauges (queue-depth-metrics.ts) and Node's process_* / nodejs_* metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BundleEvent } from '../config/watch-bundle.ts';
import type { IntakeObserver } from '../smtp/intake-observer.ts';

const knownVerbs = new Set(['HELO', 'EHLO', 'LHLO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'AUTH', 'STARTTLS']);

/** A client can send any word as a command; unknown ones share one label value. */
export function verbLabel(verb: string): string {
  const upper = verb.toUpperCase();
  return knownVerbs.has(upper) ? upper : 'OTHER';
}

const loadResults = ['applied', 'refused', 'waiting'] as const;

export interface MtaMetrics {
  readonly registry: Registry;
  /** The intake's events, counted. */
  readonly intake: IntakeObserver;
  /** Records what the bundle watcher did. */
  bundleEvent(event: BundleEvent, nowMs: number): void;
  queueReady(ready: boolean): void;
  /** The exposition text for /metrics. */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): MtaMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const sessions = new Counter({ name: 'stafette_smtp_sessions_total', help: 'SMTP connections accepted.', labelNames: ['listener'], registers });
  const active = new Gauge({ name: 'stafette_smtp_sessions_active', help: 'SMTP connections open now.', labelNames: ['listener'], registers });
  const commands = new Counter({
    name: 'stafette_smtp_commands_total',
    help: 'SMTP commands received, by verb (unknown verbs are OTHER).',
    labelNames: ['listener', 'verb'],
    registers,
  });
  const accepted = new Counter({
    name: 'stafette_smtp_messages_accepted_total',
    help: 'Messages answered 250 after the queue acknowledged them.',
    labelNames: ['listener'],
    registers,
  });
  const bytes = new Counter({ name: 'stafette_smtp_accepted_bytes_total', help: 'Body bytes of accepted messages.', labelNames: ['listener'], registers });
  const rejections = new Counter({
    name: 'stafette_smtp_rejections_total',
    help: 'Refused commands and messages, by the rule or limit that refused them.',
    labelNames: ['listener', 'reason'],
    registers,
  });
  const passwordChecks = new Counter({
    name: 'stafette_smtp_auth_password_checks_total',
    help: 'scrypt verifications during AUTH, against the stored hash or the decoy (unknown logins cost the same).',
    labelNames: ['listener', 'against'],
    registers,
  });
  const auth = new Counter({
    name: 'stafette_smtp_auth_attempts_total',
    help: 'SMTP AUTH attempts, by outcome.',
    labelNames: ['listener', 'outcome'],
    registers,
  });
  const publish = new Histogram({
    name: 'stafette_queue_publish_duration_seconds',
    help: 'Time from the end of DATA until JetStream acknowledged the message (and the 250 was sent).',
    labelNames: ['listener'],
    // JetStream acks a 2 KB publish in ~0.2 ms on a quiet loopback; large bodies and retries take seconds.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const ready = new Gauge({ name: 'stafette_queue_ready', help: '1 while the queue is reachable and its stream answers, else 0.', registers });
  const bundleInfo = new Gauge({
    name: 'stafette_config_bundle_info',
    help: 'The configuration bundle in force (value 1), by revision.',
    labelNames: ['revision'],
    registers,
  });
  const lastResult = new Gauge({
    name: 'stafette_config_last_load_result',
    help: 'Result of the last bundle read that found something new: 1 for the result it had (applied, refused, waiting for a half-updated pair), 0 for the others.',
    labelNames: ['result'],
    registers,
  });
  const lastLoad = new Gauge({
    name: 'stafette_config_last_load_timestamp_seconds',
    help: 'When the bundle was last read with a new result (Unix seconds).',
    registers,
  });
  const reloads = new Counter({ name: 'stafette_config_reloads_total', help: 'Configuration bundles applied, including the first.', registers });
  const failures = new Counter({
    name: 'stafette_config_reload_failures_total',
    help: 'Configuration bundles refused (invalid, or half-updated for too long); the last good bundle stayed in force.',
    registers,
  });
  ready.set(0);
  failures.inc(0);
  reloads.inc(0);

  const intake: IntakeObserver = {
    sessionOpened(listener) {
      sessions.inc({ listener });
      active.inc({ listener });
    },
    sessionClosed(listener) {
      active.dec({ listener });
    },
    command(listener, verb) {
      commands.inc({ listener, verb: verbLabel(verb) });
    },
    messageAccepted(listener, size, publishSeconds) {
      accepted.inc({ listener });
      bytes.inc({ listener }, size);
      publish.observe({ listener }, publishSeconds);
    },
    rejected(listener, reason) {
      rejections.inc({ listener, reason });
    },
    authAttempt(listener, outcome) {
      auth.inc({ listener, outcome });
    },
    passwordChecked(listener, against) {
      passwordChecks.inc({ listener, against });
    },
  };

  return {
    registry,
    intake,
    bundleEvent(event, nowMs) {
      for (const result of loadResults) lastResult.set({ result }, result === event.kind ? 1 : 0);
      lastLoad.set(nowMs / 1000);
      if (event.kind === 'applied') {
        bundleInfo.reset();
        bundleInfo.set({ revision: event.revision }, 1);
        reloads.inc();
      } else if (event.kind === 'refused') {
        failures.inc();
      }
    },
    queueReady(isReady) {
      ready.set(isReady ? 1 : 0);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
