import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createByteBudget } from './byte-budget.ts';

test('holders wait for room, first come first served; a body over the budget runs alone', async () => {
  const b = createByteBudget(100);
  const r1 = await b.acquire(60);
  let second = false;
  const p2 = b.acquire(60).then((r) => ((second = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, false, 'waits while 60 of 100 are held');
  r1();
  const r2 = await p2;
  assert.equal(b.used(), 60);
  r2();
  const big = await b.acquire(500);
  assert.equal(b.used(), 500, 'alone, over the budget');
  big();
  assert.equal(b.used(), 0);
});

test('an aborted wait holds nothing', async () => {
  const b = createByteBudget(10);
  const r = await b.acquire(10);
  const ac = new AbortController();
  const waiting = b.acquire(5, ac.signal);
  ac.abort();
  await assert.rejects(waiting);
  r();
  assert.equal(b.used(), 0);
});

test('a woken waiter leaves no listener on its signal (the long-lived shutdown signal)', async () => {
  const b = createByteBudget(10);
  const shutdown = new AbortController();
  for (let i = 0; i < 3; i++) {
    const r = await b.acquire(10, shutdown.signal);
    const next = b.acquire(10, shutdown.signal);
    r();
    (await next)();
  }
  assert.equal(getEventListeners(shutdown.signal, 'abort').length, 0);
  assert.equal(b.used(), 0);
});
