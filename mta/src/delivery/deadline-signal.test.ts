import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadlineSignal } from './deadline-signal.ts';

test('aborts with a TimeoutError after the deadline', async () => {
  const d = deadlineSignal(new AbortController().signal, 10);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(d.signal.aborted, true);
  assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
});

test("aborts with the parent's reason when the parent aborts first, also when it already had", () => {
  const parent = new AbortController();
  const d = deadlineSignal(parent.signal, 60_000);
  parent.abort(new Error('shutdown'));
  assert.equal((d.signal.reason as Error).message, 'shutdown');
  d.dispose();
  assert.equal((deadlineSignal(parent.signal, 60_000).signal.reason as Error).message, 'shutdown');
});

test('after dispose neither the deadline nor the parent aborts it', async () => {
  const parent = new AbortController();
  const d = deadlineSignal(parent.signal, 20);
  d.dispose();
  await new Promise((r) => setTimeout(r, 40));
  parent.abort();
  assert.equal(d.signal.aborted, false);
});
