import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationLimiter, RatePacer } from './smtp-client-pool.ts';

test('the limiter lets `limit` transactions run per destination and queues the rest in order', async () => {
  const limiter = new DestinationLimiter();
  const signal = new AbortController().signal;
  const a = await limiter.acquire('mx:a.test', 2, signal);
  const b = await limiter.acquire('mx:a.test', 2, signal);
  const other = await limiter.acquire('mx:b.test', 2, signal);
  assert.ok(a && b && other);
  assert.equal(limiter.inFlight('mx:a.test'), 2);
  const order: string[] = [];
  const c = limiter.acquire('mx:a.test', 2, signal).then((r) => {
    order.push('c');
    return r;
  });
  const d = limiter.acquire('mx:a.test', 2, signal).then((r) => {
    order.push('d');
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  a();
  a(); // releasing twice frees one slot only
  const releaseC = await c;
  assert.deepEqual(order, ['c']);
  b();
  const releaseD = await d;
  assert.deepEqual(order, ['c', 'd']);
  releaseC!();
  releaseD!();
  other();
  assert.equal(limiter.inFlight('mx:a.test'), 0);
});

test('a waiter whose attempt is aborted gives up without taking a slot', async () => {
  const limiter = new DestinationLimiter();
  const held = await limiter.acquire('k', 1, new AbortController().signal);
  const controller = new AbortController();
  const waiting = limiter.acquire('k', 1, controller.signal);
  controller.abort();
  assert.equal(await waiting, null);
  held!();
  assert.equal(limiter.inFlight('k'), 0);
  const again = await limiter.acquire('k', 1, new AbortController().signal);
  assert.ok(again);
  again();
});

test('the pacer spaces starts 1/perSecond apart and gives up when aborted', async () => {
  let clock = 1_000;
  const pacer = new RatePacer(() => clock);
  const signal = new AbortController().signal;
  assert.equal(await pacer.wait('relay', 10, signal), true);
  const started = Date.now();
  assert.equal(await pacer.wait('relay', 10, signal), true); // waits ~100 ms of real time
  assert.ok(Date.now() - started >= 90);
  clock += 1_000; // later: no wait
  assert.equal(await pacer.wait('relay', 10, signal), true);
  const aborted = new AbortController();
  const waiting = pacer.wait('relay', 1, aborted.signal);
  aborted.abort();
  assert.equal(await waiting, false);
});
