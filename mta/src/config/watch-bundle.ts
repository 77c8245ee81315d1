// Keeps the MTA's configuration current: re-reads the mounted bundle when its directories
// change and on a fixed interval, applies a new valid bundle atomically, and keeps the last
// good one when a new one is broken (docs/architecture.md §2 contract 6).
//
// Why both a watch and an interval: fs.watch on a directory does see the kubelet's rename
// of `..data`, but watches are known to miss events on some filesystems and after the
// watched directory is replaced, so the periodic re-check is what guarantees the change is
// seen; the watch only makes it quick. Re-checks are cheap: the files are small and an
// unchanged pair is recognised by its fingerprint without validating it again.
//
// "Atomically" means the intake never sees a mix: `current` is replaced by one assignment
// of an object holding both parts, and the intake reads it once per session.
import { watch as fsWatch } from 'node:fs';
import type { Bundle, BundleSecrets } from '../../../bundle/schema.ts';
import { readBundle, type BundleRead, type BundleSources } from './load-bundle.ts';

export interface LoadedBundle {
  readonly revision: string;
  readonly bundle: Bundle;
  readonly secrets: BundleSecrets;
  /** When this bundle was applied (clock milliseconds). */
  readonly appliedAt: number;
}

/** What the watcher did, for logs and metrics; each is reported once per distinct bundle read. */
export type BundleEvent =
  | { readonly kind: 'applied'; readonly revision: string; readonly previous: string | null }
  | { readonly kind: 'refused'; readonly errors: string[]; readonly keeping: string | null }
  | { readonly kind: 'waiting'; readonly reason: string; readonly keeping: string | null };

/** How often the bundle is re-read besides the directory watch (which can miss a change). */
export const defaultRecheckMs = 5_000;

export interface BundleWatcherOptions {
  readonly sources: BundleSources;
  /** Directories to watch for changes (the ones holding the two parts). */
  readonly dirs: readonly string[];
  readonly report: (event: BundleEvent) => void;
  /** Clock milliseconds. */
  readonly now: () => number;
  /** Runs `fn` every `ms` until the returned function is called (setInterval, injected). */
  readonly every: (ms: number, fn: () => void) => () => void;
  /** Watches a directory, calling `onChange` on any change; returns a stop function. Default: fs.watch. */
  readonly watchDir?: (dir: string, onChange: () => void) => () => void;
  /** Reads the bundle; default readBundle(sources). */
  readonly read?: () => BundleRead;
  /** Periodic re-check interval (default defaultRecheckMs). */
  readonly recheckMs?: number;
  /**
   * How long a half-updated pair may wait for its other part before it is reported as a
   * refusal (default 3 min: the kubelet syncs a ConfigMap and a Secret independently, each
   * within about a minute plus its cache TTL).
   */
  readonly halfUpdatedGraceMs?: number;
}

export interface BundleWatcher {
  /** The bundle in force, or null before the first valid one. */
  readonly current: LoadedBundle | null;
  /** Reads the files now and applies, refuses or waits; returns what it found. */
  check(): BundleRead;
  /** Starts watching and the periodic re-check (after an initial check). */
  start(): void;
  stop(): void;
}

export function createBundleWatcher(opts: BundleWatcherOptions): BundleWatcher {
  const read = opts.read ?? (() => readBundle(opts.sources));
  const watchDir = opts.watchDir ?? watchDirectory;
  const recheckMs = opts.recheckMs ?? defaultRecheckMs;
  const graceMs = opts.halfUpdatedGraceMs ?? 180_000;

  let current: LoadedBundle | null = null;
  let lastFingerprint: string | null = null;
  // A half-updated pair: since when, and whether the wait has already been reported as a refusal.
  let halfUpdatedSince: number | null = null;
  let halfUpdatedRefused = false;
  const stops: (() => void)[] = [];

  function check(): BundleRead {
    const found = read();
    const seen = found.fingerprint === lastFingerprint;
    lastFingerprint = found.fingerprint;
    const keeping = current?.revision ?? null;

    if (found.kind !== 'half-updated') {
      halfUpdatedSince = null;
      halfUpdatedRefused = false;
    }
    switch (found.kind) {
      case 'valid':
        if (found.revision !== current?.revision) {
          current = { revision: found.revision, bundle: found.bundle, secrets: found.secrets, appliedAt: opts.now() };
          opts.report({ kind: 'applied', revision: found.revision, previous: keeping });
        }
        break;
      case 'invalid':
        if (!seen) opts.report({ kind: 'refused', errors: found.errors, keeping });
        break;
      case 'half-updated': {
        const reason = found.reason;
        if (halfUpdatedSince === null) {
          halfUpdatedSince = opts.now();
          opts.report({ kind: 'waiting', reason: `${reason}; waiting for the other part`, keeping });
        } else if (!halfUpdatedRefused && opts.now() - halfUpdatedSince >= graceMs) {
          halfUpdatedRefused = true;
          opts.report({ kind: 'refused', errors: [`${reason}, for ${Math.round(graceMs / 1000)} s or more`], keeping });
        }
        break;
      }
    }
    return found;
  }

  // A watch event can fire in the middle of a swap; checking on the next turn of the event
  // loop lets the rename complete, and any later event checks again.
  const checkSoon = () =>
    setImmediate(() => {
      try {
        check();
      } catch {
        // read() never throws; a failing report() must not kill the watch.
      }
    });

  return {
    get current() {
      return current;
    },
    check,
    start() {
      check();
      for (const dir of new Set(opts.dirs)) stops.push(watchDir(dir, checkSoon));
      stops.push(opts.every(recheckMs, () => check()));
    },
    stop() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}

/** fs.watch on a directory; a failing or vanished watch is ignored (the re-check covers it). */
function watchDirectory(dir: string, onChange: () => void): () => void {
  try {
    const watcher = fsWatch(dir, { persistent: false }, () => onChange());
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => {};
  }
}
