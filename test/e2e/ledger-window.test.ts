// ledger-window.ts against the exposition of the MTA's own histogram (prom-client, as
// mta/src/ops/delivery-metrics.ts registers it): parsing, the per-pod difference over a
// scenario, and the pods that count whole or are lost.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createDeliveryMetrics } from '../../mta/src/ops/delivery-metrics.ts';
import { describeScenarioWindow, largestBucket, parseLedgerWindow, scenarioWindow, type LedgerWindow } from './ledger-window.ts';

function mtaMetrics() {
  const registry = new Registry();
  const observer = createDeliveryMetrics(registry, async () => ({ deferred: 0, due: 0, deadLetters: 0, quarantined: 0 }));
  return { observer, read: async () => parseLedgerWindow(await registry.metrics()) as LedgerWindow };
}

describe('ledger window from /metrics', () => {
  test('parses the histogram the MTA exposes; the largest bucket bounds every window', async () => {
    const pod = mtaMetrics();
    for (const s of [0.0004, 0.003, 0.004]) pod.observer.ledgerWindow(s);
    const w = await pod.read();
    assert.equal(w.count, 3);
    assert.ok(Math.abs(w.sum - 0.0074) < 1e-9);
    assert.equal(largestBucket(w), 0.005);
    pod.observer.ledgerWindow(2);
    assert.equal(largestBucket(await pod.read()), 2.5);
    pod.observer.ledgerWindow(400);
    assert.equal(largestBucket(await pod.read()), Infinity);
    assert.equal(parseLedgerWindow('# nothing here\n'), undefined);
  });

  test('a scenario counts the difference on pods that stayed, new pods whole, and names the pods gone', async () => {
    const [stayed, gone, fresh] = [mtaMetrics(), mtaMetrics(), mtaMetrics()];
    stayed.observer.ledgerWindow(0.0004);
    gone.observer.ledgerWindow(0.0004);
    const before = new Map([
      ['mta-a', await stayed.read()],
      ['mta-b', await gone.read()],
    ]);
    stayed.observer.ledgerWindow(0.02);
    fresh.observer.ledgerWindow(0.002);
    const after = new Map<string, LedgerWindow | string>([
      ['mta-a', await stayed.read()],
      ['mta-c', await fresh.read()],
      ['mta-d', '/metrics unread: timeout'],
    ]);
    const s = scenarioWindow(before, after);
    assert.equal(s.window?.count, 2);
    assert.ok(Math.abs((s.window?.sum ?? 0) - 0.022) < 1e-9);
    assert.equal(largestBucket(s.window), 0.025);
    assert.deepEqual([s.counted, s.whole, s.gone], [['mta-a'], ['mta-c'], ['mta-b']]);
    assert.deepEqual(s.unread, ['mta-d (/metrics unread: timeout)']);
    const line = describeScenarioWindow('force-delete', s);
    assert.match(line, /^e2e force-delete duplicate window: 2 ledger writes, sum 0\.022 s, mean 11\.0 ms, largest non-empty bucket <= 25\.0 ms; /);
    assert.match(line, /replaced during the scenario and their metrics with them: mta-b$/);
  });
});
