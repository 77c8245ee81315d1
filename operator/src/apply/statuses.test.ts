// Status writes run a few at a time, and one failed write neither stops the others nor goes unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inParallel } from './statuses.ts';

test('at most `limit` tasks run at once, and every task runs', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  const tasks = Array.from({ length: 10 }, (_, i) => async () => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    done.push(i);
  });
  await inParallel(tasks, 3);
  assert.equal(most, 3);
  assert.deepEqual(
    done.sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test('the first failure is thrown once all tasks have settled', async () => {
  const done: string[] = [];
  const tasks = [
    async () => {
      throw new Error('first');
    },
    async () => {
      throw new Error('second');
    },
    async () => {
      done.push('third');
    },
  ];
  await assert.rejects(inParallel(tasks, 1), /first/);
  assert.deepEqual(done, ['third']);
});
