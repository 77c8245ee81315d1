import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconcileGate } from './reconcile-gate.ts';

test('closed until the operator leads and every cache is listed; opening enqueues everything once', () => {
  let everything = 0;
  const gate = new ReconcileGate(() => (everything += 1));
  assert.equal(gate.open, false);
  gate.startedLeading();
  // Leading, but the Mailboxes are not listed yet: a domain's event must not start a render.
  assert.equal(gate.open, false);
  assert.equal(everything, 0);
  gate.cachesListed();
  assert.equal(gate.open, true);
  assert.equal(everything, 1);
  gate.cachesListed();
  gate.startedLeading();
  assert.equal(everything, 1);
});

test('synced first, then leading: opens when the lease is won', () => {
  let everything = 0;
  const gate = new ReconcileGate(() => (everything += 1));
  gate.cachesListed();
  assert.equal(gate.open, false);
  assert.equal(gate.cachesSynced, true);
  gate.startedLeading();
  assert.equal(gate.open, true);
  assert.equal(everything, 1);
  gate.stoppedLeading();
  assert.equal(gate.open, false);
});
