import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './workqueue.ts';

/** Timers under the test's control: fire() runs everything due. */
function manualTimers() {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms };
      pending.push(t);
      return t;
    },
    clearTimer: (t: unknown) => {
      const i = pending.indexOf(t as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
    fire() {
      for (const t of pending.splice(0)) t.fn();
    },
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('a key added many times while waiting is reconciled once', async () => {
  const gate = deferred();
  const runs: string[] = [];
  const queue = new WorkQueue(
    async (key) => {
      runs.push(key);
      if (key === 'busy') await gate.promise;
    },
    { workers: 1 },
  );
  queue.add('busy');
  queue.add('a');
  queue.add('a');
  queue.add('b');
  queue.add('a');
  assert.deepEqual(queue.stats(), { depth: 2, inFlight: 1, retrying: 0 });
  gate.resolve();
  await queue.idle();
  assert.deepEqual(runs, ['busy', 'a', 'b']);
});

test('one reconcile in flight per key; a change during it runs the key once more afterwards', async () => {
  const gate = deferred();
  let running = 0;
  let maxRunning = 0;
  const runs: string[] = [];
  const queue = new WorkQueue(
    async (key) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      runs.push(key);
      if (runs.length === 1) await gate.promise;
      running -= 1;
    },
    { workers: 4 },
  );
  queue.add('a');
  await Promise.resolve();
  queue.add('a');
  queue.add('a');
  gate.resolve();
  await queue.idle();
  assert.deepEqual(runs, ['a', 'a']);
  assert.equal(maxRunning, 1);
});

test('different keys run concurrently up to the number of workers', async () => {
  const gate = deferred();
  let running = 0;
  let maxRunning = 0;
  const queue = new WorkQueue(
    async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running -= 1;
    },
    { workers: 2 },
  );
  for (const k of ['a', 'b', 'c', 'd']) queue.add(k);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(queue.stats(), { depth: 2, inFlight: 2, retrying: 0 });
  gate.resolve();
  await queue.idle();
  assert.equal(maxRunning, 2);
});

test('failures are retried with exponential backoff, and forget() resets it', async () => {
  const timers = manualTimers();
  let attempts = 0;
  const delays: number[] = [];
  const queue = new WorkQueue(
    async () => {
      attempts += 1;
      if (attempts < 4) throw new Error('transient');
      queue.forget('a');
    },
    { workers: 1, baseDelayMs: 100, maxDelayMs: 250, setTimer: timers.setTimer, clearTimer: timers.clearTimer },
    (_k, _e, ms) => delays.push(ms),
  );
  queue.add('a');
  for (let i = 0; i < 3; i += 1) {
    await queue.idle();
    timers.fire();
  }
  await queue.idle();
  assert.equal(attempts, 4);
  assert.deepEqual(delays, [100, 200, 250]);
  assert.equal(queue.addRateLimited('a'), 100);
});

test('shutdown waits for reconciles in flight and drops waiting keys and timers', async () => {
  const timers = manualTimers();
  const gate = deferred();
  const runs: string[] = [];
  const queue = new WorkQueue(
    async (k) => {
      runs.push(k);
      await gate.promise;
    },
    { workers: 1, setTimer: timers.setTimer, clearTimer: timers.clearTimer },
  );
  queue.add('a');
  queue.add('b');
  queue.addAfter('c', 1000);
  const done = queue.shutdown();
  gate.resolve();
  await done;
  assert.deepEqual(runs, ['a']);
  assert.equal(timers.pending.length, 0);
  queue.add('d');
  assert.deepEqual(queue.stats(), { depth: 0, inFlight: 0, retrying: 0 });
});

test('of two delays asked for one key, the earlier one wins', () => {
  const timers = manualTimers();
  let now = 0;
  const queue = new WorkQueue(async () => {}, { workers: 1, setTimer: timers.setTimer, clearTimer: timers.clearTimer, now: () => now });
  queue.addAfter('a', 6 * 3_600_000);
  queue.addAfter('a', 1000);
  queue.addAfter('a', 5000);
  assert.deepEqual(
    timers.pending.map((t) => t.ms),
    [1000],
  );
  now = 500;
  queue.addAfter('a', 400);
  assert.deepEqual(
    timers.pending.map((t) => t.ms),
    [400],
  );
});

test('a delay longer than a timer can hold waits in steps instead of firing at once', () => {
  const timers = manualTimers();
  let now = 0;
  const runs: string[] = [];
  const queue = new WorkQueue(async (k) => void runs.push(k), { workers: 1, setTimer: timers.setTimer, clearTimer: timers.clearTimer, now: () => now });
  const thirtyDays = 30 * 86_400_000;
  queue.addAfter('bundle', thirtyDays);
  assert.deepEqual(
    timers.pending.map((t) => t.ms),
    [2 ** 31 - 1],
  );
  now = 2 ** 31 - 1;
  timers.fire();
  assert.deepEqual(runs, []);
  assert.deepEqual(
    timers.pending.map((t) => t.ms),
    [thirtyDays - (2 ** 31 - 1)],
  );
  assert.equal(queue.stats().retrying, 1);
  now = thirtyDays;
  timers.fire();
  assert.deepEqual(runs, ['bundle']);
});
