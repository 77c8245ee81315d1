// How configuration changes reach a running MTA: new valid bundles are applied, broken ones
// are refused once while the last good one stays in force, and half-updated mounts wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleSources } from './load-bundle.ts';
import { bundleFiles, minimalBundle, writeMountedFiles } from './load-bundle-fixture.ts';
import { createBundleWatcher, type BundleEvent, type BundleWatcherOptions } from './watch-bundle.ts';

/** A watcher over two mounted volumes, with a hand-driven clock and no real timers. */
function mountedWatcher(t: { after(fn: () => void): void }, extra: Partial<BundleWatcherOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'config');
  const secretDir = join(dir, 'secret');
  const events: BundleEvent[] = [];
  const clock = { ms: 0 };
  const ticks: (() => void)[] = [];
  const watcher = createBundleWatcher({
    sources: bundleSources(configDir, secretDir),
    dirs: [configDir, secretDir],
    report: (e) => events.push(e),
    now: () => clock.ms,
    every: (_ms, fn) => {
      ticks.push(fn);
      return () => ticks.splice(ticks.indexOf(fn), 1);
    },
    watchDir: () => () => {},
    ...extra,
  });
  const publish = (revision: string, addresses: string[], parts: 'both' | 'config' | 'secret' = 'both') => {
    const files = bundleFiles(minimalBundle(revision, addresses));
    if (parts !== 'secret') writeMountedFiles(configDir, files.config);
    if (parts !== 'config') writeMountedFiles(secretDir, files.secrets);
  };
  const tick = () => ticks.forEach((fn) => fn());
  return { watcher, events, clock, publish, tick, configDir, secretDir };
}

test('the first valid bundle is applied at start', (t) => {
  const { watcher, events, publish } = mountedWatcher(t);
  publish('r1', ['alice@example.test']);
  watcher.start();
  t.after(() => watcher.stop());
  assert.equal(watcher.current?.revision, 'r1');
  assert.deepEqual(events, [{ kind: 'applied', revision: 'r1', previous: null }]);
});

test('a new bundle is applied by the periodic re-check, replacing both parts at once', (t) => {
  const { watcher, events, publish, tick, clock } = mountedWatcher(t);
  publish('r1', ['alice@example.test']);
  watcher.start();
  t.after(() => watcher.stop());
  const before = watcher.current;

  publish('r2', ['bob@example.test']);
  clock.ms = 5_000;
  tick();
  assert.equal(watcher.current?.revision, 'r2');
  assert.deepEqual(
    watcher.current?.bundle.mailboxes.map((m) => m.address),
    ['bob@example.test'],
  );
  assert.equal(watcher.current?.secrets.revision, 'r2');
  assert.equal(watcher.current?.appliedAt, 5_000);
  assert.equal(before?.revision, 'r1', 'a session holding the old bundle keeps it unchanged');
  assert.deepEqual(events.at(-1), { kind: 'applied', revision: 'r2', previous: 'r1' });
});

test('a broken bundle is refused once, with its errors, and the last good one stays in force', (t) => {
  const { watcher, events, publish, tick, configDir } = mountedWatcher(t);
  publish('r1', ['alice@example.test']);
  watcher.start();
  t.after(() => watcher.stop());

  writeMountedFiles(configDir, { 'bundle.json': '{ not json' });
  tick();
  tick();
  assert.equal(watcher.current?.revision, 'r1');
  const refusals = events.filter((e) => e.kind === 'refused');
  assert.equal(refusals.length, 1, 'an unchanged broken bundle is reported once, not on every re-check');
  assert.equal(refusals[0]?.kind === 'refused' && refusals[0].keeping, 'r1');
  assert.match(refusals[0]?.kind === 'refused' ? refusals[0].errors[0]! : '', /config: unreadable bundle file: .*JSON/);

  publish('r3', ['carol@example.test']);
  tick();
  assert.equal(watcher.current?.revision, 'r3', 'a fixed bundle is applied again');
});

test('a half-updated pair waits for the other part, then is applied without any refusal', (t) => {
  const { watcher, events, publish, tick, clock } = mountedWatcher(t);
  publish('r1', ['alice@example.test']);
  watcher.start();
  t.after(() => watcher.stop());

  publish('r2', ['bob@example.test'], 'config');
  clock.ms = 5_000;
  tick();
  assert.equal(watcher.current?.revision, 'r1');
  assert.equal(events.at(-1)?.kind, 'waiting');

  publish('r2', ['bob@example.test'], 'secret');
  clock.ms = 10_000;
  tick();
  assert.equal(watcher.current?.revision, 'r2');
  assert.deepEqual(
    events.map((e) => e.kind),
    ['applied', 'waiting', 'applied'],
  );
});

test('a half-updated pair that stays so past the grace period is reported as one refusal', (t) => {
  const { watcher, events, publish, tick, clock } = mountedWatcher(t, { halfUpdatedGraceMs: 60_000 });
  publish('r1', ['alice@example.test']);
  watcher.start();
  t.after(() => watcher.stop());

  publish('r2', ['bob@example.test'], 'config');
  for (const ms of [5_000, 30_000, 65_000, 70_000, 100_000]) {
    clock.ms = ms;
    tick();
  }
  assert.equal(watcher.current?.revision, 'r1');
  assert.deepEqual(
    events.map((e) => e.kind),
    ['applied', 'waiting', 'refused'],
  );
  assert.match(events[2]?.kind === 'refused' ? events[2].errors[0]! : '', /config part has revision r2 and the secret part r1, for 60 s or more/);
});

test('with no valid bundle at all, nothing is in force and the reason is reported', (t) => {
  const { watcher, events } = mountedWatcher(t);
  watcher.start();
  t.after(() => watcher.stop());
  assert.equal(watcher.current, null);
  assert.equal(events[0]?.kind === 'refused' && events[0].keeping, null);
});

test('a directory change seen by fs.watch applies the new bundle without waiting for the re-check', async (t) => {
  const base = mountedWatcher(t);
  base.publish('r1', ['alice@example.test']);
  const { watcher } = mountedWatcher(t, {
    sources: bundleSources(base.configDir, base.secretDir),
    dirs: [base.configDir, base.secretDir],
    watchDir: undefined,
  });
  watcher.start();
  t.after(() => watcher.stop());
  assert.equal(watcher.current?.revision, 'r1');
  base.publish('r2', ['bob@example.test']);
  // Bounded wait for the watch event; the periodic re-check is not running (no ticks).
  const revision = (): string | undefined => watcher.current?.revision;
  for (let i = 0; i < 100 && revision() !== 'r2'; i++) await sleep(20);
  assert.equal(revision(), 'r2');
});
