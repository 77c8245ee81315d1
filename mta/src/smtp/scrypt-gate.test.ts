import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScryptGate } from './scrypt-gate.ts';

test('at most `concurrency` run at once, `queue` more wait, the rest are refused at once', async () => {
  const gate = createScryptGate(2, 1);
  let active = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const work = () =>
    new Promise<void>((resolve) => {
      active++;
      peak = Math.max(peak, active);
      releases.push(() => {
        active--;
        resolve();
      });
    });
  const runs = [gate.run(work), gate.run(work), gate.run(work)];
  assert.equal(gate.run(work), null);
  await new Promise((r) => setImmediate(r));
  assert.equal(active, 2);
  releases.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.equal(active, 2);
  while (releases.length > 0) {
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(runs.map((r) => r ?? Promise.resolve()));
  assert.equal(peak, 2);
});
