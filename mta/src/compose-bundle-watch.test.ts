import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitForFirstBundle } from './compose-bundle-watch.ts';

describe('waitForFirstBundle', () => {
  test('keeps waiting past a minute by default (the kubelet may mount the first bundle 90 s after the start), reporting progress', async () => {
    // Each re-check (500 ms of real time) moves the clock on 20 s: the bundle appears
    // after 6 re-checks, 2 minutes in.
    let clock = 0;
    let rechecks = 0;
    const progress: number[] = [];
    await waitForFirstBundle(
      () => rechecks >= 6,
      () => {
        rechecks++;
        clock += 20_000;
      },
      () => clock,
      undefined,
      (waited) => progress.push(waited),
    );
    assert.equal(rechecks, 6);
    assert.deepEqual(progress, [40_000, 80_000]);
  });

  test('gives up after timeoutMs when one is given', async () => {
    let clock = 0;
    let rechecks = 0;
    await waitForFirstBundle(
      () => false,
      () => {
        rechecks++;
        clock += 20_000;
      },
      () => clock,
      30_000,
    );
    assert.equal(rechecks, 2);
  });
});
