// What /metrics shows for the intake's events, the bundle watcher and the queue depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueueStats } from '../queue/index.ts';
import { Registry } from 'prom-client';
import { createDeliveryMetrics } from './delivery-metrics.ts';
import { createMetrics, verbLabel } from './metrics.ts';
import { addDeliveryMemoryMetric, addQueueDepthMetrics } from './queue-depth-metrics.ts';

/** The value of one series in the exposition text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('intake events become counters, a gauge of open sessions and a publish latency histogram', async () => {
  const m = createMetrics({ defaultMetrics: false });
  m.intake.sessionOpened('mx');
  m.intake.sessionOpened('mx');
  m.intake.sessionClosed('mx');
  m.intake.command('mx', 'ehlo');
  m.intake.command('mx', 'GET');
  m.intake.messageAccepted('mx', 2048, 0.0004);
  m.intake.rejected('mx', 'unknown_recipient');
  m.intake.authAttempt('submission', 'failure');
  const text = await m.render();
  assert.equal(sample(text, 'stafette_smtp_sessions_total{listener="mx"}'), 2);
  assert.equal(sample(text, 'stafette_smtp_sessions_active{listener="mx"}'), 1);
  assert.equal(sample(text, 'stafette_smtp_commands_total{listener="mx",verb="EHLO"}'), 1);
  assert.equal(sample(text, 'stafette_smtp_commands_total{listener="mx",verb="OTHER"}'), 1);
  assert.equal(sample(text, 'stafette_smtp_messages_accepted_total{listener="mx"}'), 1);
  assert.equal(sample(text, 'stafette_smtp_accepted_bytes_total{listener="mx"}'), 2048);
  assert.equal(sample(text, 'stafette_smtp_rejections_total{listener="mx",reason="unknown_recipient"}'), 1);
  assert.equal(sample(text, 'stafette_smtp_auth_attempts_total{listener="submission",outcome="failure"}'), 1);
  assert.equal(sample(text, 'stafette_queue_publish_duration_seconds_bucket{le="0.0005",listener="mx"}'), 1);
  assert.match(text, /# HELP stafette_queue_publish_duration_seconds Time from the end of DATA/);
});

test('every metric of ours is named stafette_<subsystem>_<name>_<unit|total> and has help text', async () => {
  const m = createMetrics({ defaultMetrics: false });
  addQueueDepthMetrics(m.registry, { readStats: () => Promise.reject(new Error('offline')), now: Date.now });
  for (const metric of await m.registry.getMetricsAsJSON()) {
    assert.match(metric.name, /^stafette_(smtp|queue|config)_[a-z_]+$/);
    assert.ok(metric.help.length > 10, `${metric.name} needs help text`);
  }
});

test('unknown command words share one label value, so a client cannot create series', () => {
  assert.equal(verbLabel('rcpt'), 'RCPT');
  assert.equal(verbLabel('XYZZY'), 'OTHER');
});

test('bundle events: revision info, the last result, reloads and failures', async () => {
  const m = createMetrics({ defaultMetrics: false });
  m.bundleEvent({ kind: 'applied', revision: 'r1', previous: null }, 1_000_000);
  m.bundleEvent({ kind: 'refused', errors: ['bad'], keeping: 'r1' }, 2_000_000);
  let text = await m.render();
  assert.equal(sample(text, 'stafette_config_bundle_info{revision="r1"}'), 1);
  assert.equal(sample(text, 'stafette_config_last_load_result{result="refused"}'), 1);
  assert.equal(sample(text, 'stafette_config_last_load_result{result="applied"}'), 0);
  assert.equal(sample(text, 'stafette_config_reload_failures_total'), 1);
  assert.equal(sample(text, 'stafette_config_last_load_timestamp_seconds'), 2000);

  m.bundleEvent({ kind: 'applied', revision: 'r2', previous: 'r1' }, 3_000_000);
  text = await m.render();
  assert.equal(sample(text, 'stafette_config_bundle_info{revision="r1"}'), undefined, 'only the bundle in force is shown');
  assert.equal(sample(text, 'stafette_config_bundle_info{revision="r2"}'), 1);
  assert.equal(sample(text, 'stafette_config_reloads_total'), 2);
});

test('queue depth is read once per scrape; a failed read shows NaN and stats_up 0, never a stale depth', async () => {
  const m = createMetrics({ defaultMetrics: false });
  const now = Date.parse('2026-01-01T00:01:00Z');
  let reads = 0;
  let fail = false;
  const stats: QueueStats = {
    stream: { name: 'MAILQ', messages: 7, bytes: 14_000, firstSeq: 1, lastSeq: 7, oldest: '2026-01-01T00:00:00Z' },
    consumer: { name: 'delivery', pending: 5, ackPending: 2, redelivered: 0, waitingPulls: 0 },
    bodies: { bucket: 'mailbody', bytes: 30_000_000, messages: 240 },
  };
  addQueueDepthMetrics(m.registry, {
    readStats: async () => {
      reads++;
      if (fail) throw new Error('NATS not connected');
      return stats;
    },
    now: () => now,
  });
  let text = await m.render();
  assert.equal(reads, 1);
  assert.equal(sample(text, 'stafette_queue_stats_up'), 1);
  assert.equal(sample(text, 'stafette_queue_depth_messages'), 7);
  assert.equal(sample(text, 'stafette_queue_pending_messages'), 5);
  assert.equal(sample(text, 'stafette_queue_ack_pending_messages'), 2);
  assert.equal(sample(text, 'stafette_queue_oldest_message_age_seconds'), 60);
  assert.equal(sample(text, 'stafette_queue_body_bytes'), 30_000_000);

  fail = true;
  await new Promise((resolve) => setImmediate(resolve));
  text = await m.render();
  assert.equal(reads, 2);
  assert.equal(sample(text, 'stafette_queue_stats_up'), 0);
  assert.ok(Number.isNaN(sample(text, 'stafette_queue_depth_messages')));
});

test('delivery metrics are labelled by destination kind and relay, never by domain or host', async () => {
  const registry = new Registry();
  const observer = createDeliveryMetrics(registry, () => Promise.resolve({ deferred: 0, due: 0, deadLetters: 0, quarantined: 0 }));
  observer.recipients('mx:one.example', 'delivered', 1);
  observer.recipients('mx:two.example', 'delivered', 1);
  observer.recipients('lmtp:dovecot.mail.svc', 'delivered', 1);
  observer.recipients('relay:mail/smarthost', 'deferred', 1);
  const text = await registry.metrics();
  assert.match(text, /stafette_delivery_recipients_total\{destination="mx",result="delivered"\} 2/);
  assert.match(text, /destination="lmtp"/);
  assert.match(text, /destination="relay:mail\/smarthost"/);
  assert.doesNotMatch(text, /one\.example|dovecot/);
});

test('the delivery memory budget is read at scrape: 0 until delivery runs, then what it holds', async () => {
  const registry = new Registry();
  let delivery: { used: number; capacity: number } | null = null;
  addDeliveryMemoryMetric(registry, () => delivery);
  assert.equal(sample(await registry.metrics(), 'stafette_delivery_memory_budget_capacity_bytes'), 0);
  delivery = { used: 3 * 1024 * 1024, capacity: 256 * 1024 * 1024 };
  const text = await registry.metrics();
  assert.equal(sample(text, 'stafette_delivery_memory_budget_used_bytes'), 3 * 1024 * 1024);
  assert.equal(sample(text, 'stafette_delivery_memory_budget_capacity_bytes'), 256 * 1024 * 1024);
});
