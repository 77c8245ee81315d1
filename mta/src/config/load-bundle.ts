// Reads the configuration bundle from mounted files, once, and says what was found.
//
// The config part is `<configDir>/bundle.json.gz` (or plain `bundle.json`); the secret
// part is `<secretDir>/secrets-<i>-of-<n>.json.gz` shards (or plain `secrets.json`), as
// bundle/files.ts lays them out; both directories may be the same. In Kubernetes a mounted
// ConfigMap or Secret shows its files as symlinks into `..data/`, itself a symlink to a
// timestamped directory that the kubelet swaps atomically on update. Reading through the symlinks gives one consistent version of
// each part, but the ConfigMap and the Secret are updated separately (each on its own
// kubelet sync), so for a while the two parts may come from different renders. Both carry
// the same `revision` when they belong together; a pair whose revisions differ is
// "half-updated": not an error yet, the watcher waits for the other part.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.ts';
import { checkBundle } from '../../../bundle/check.ts';
import { configFileName, decodeBundleFiles } from '../../../bundle/files.ts';
import type { Bundle, BundleSecrets } from '../../../bundle/schema.ts';

export interface BundleSources {
  /** The mounted ConfigMap: bundle.json.gz or bundle.json. */
  readonly configDir: string;
  /** The mounted Secret(s): secrets-<i>-of-<n>.json.gz or secrets.json; may be configDir. */
  readonly secretDir: string;
}

/** Where the two parts are, given the mounted directories (one directory holding both is fine). */
export function bundleSources(configDir: string, secretDir: string = configDir): BundleSources {
  return { configDir, secretDir };
}

export type BundleRead =
  | { readonly kind: 'valid'; readonly fingerprint: string; readonly revision: string; readonly bundle: Bundle; readonly secrets: BundleSecrets }
  | { readonly kind: 'half-updated'; readonly fingerprint: string; readonly reason: string }
  | { readonly kind: 'invalid'; readonly fingerprint: string; readonly errors: string[] };

/** The file system as the loader uses it; injected so tests can simulate unreadable files. */
export interface BundleFileSystem {
  /** File names in a directory (symlinks included). */
  list(dir: string): string[];
  read(path: string): Buffer;
}

const realFileSystem: BundleFileSystem = {
  list: (dir) => readdirSync(dir),
  read: (path) => readFileSync(path),
};

const configNames = (name: string) => name === configFileName || name === 'bundle.json';
const secretNames = (name: string) => name === 'secrets.json' || /^secrets-\d+-of-\d+\.json\.gz$/.test(name);

/**
 * Reads and checks both parts. Never throws: unreadable files and bad JSON are `invalid`
 * with a sentence each. `fingerprint` identifies what was read (the names and bytes of the
 * files, or the errors), so a watcher can skip work and repeated log lines when nothing
 * changed.
 */
export function readBundle(sources: BundleSources, fs: BundleFileSystem = realFileSystem): BundleRead {
  const files = new Map<string, Buffer>();
  const errors: string[] = [];
  const hash = createHash('sha256');
  for (const [dir, wanted, what] of [
    [sources.configDir, configNames, `${configFileName} or bundle.json`],
    [sources.secretDir, secretNames, 'secrets.json or secrets-<i>-of-<n>.json.gz'],
  ] as const) {
    let names: string[];
    try {
      names = fs.list(dir).filter(wanted).sort();
    } catch (err) {
      errors.push(`${dir}: cannot be listed (${describeError(err)})`);
      continue;
    }
    if (names.length === 0) errors.push(`${dir}: no ${what}`);
    for (const name of names) {
      try {
        const bytes = fs.read(join(dir, name));
        files.set(name, bytes);
        hash.update(`${dir}/${name}\0`).update(bytes).update('\0');
      } catch (err) {
        errors.push(`${join(dir, name)}: cannot be read (${describeError(err)})`);
      }
    }
  }
  if (errors.length > 0) return { kind: 'invalid', fingerprint: hash.update(errors.join('\n')).digest('hex'), errors };
  const fingerprint = hash.digest('hex');

  const decoded = decodeBundleFiles(files);
  if (!decoded.ok) {
    // Secret shards of different revisions: the operator updates one Secret per shard,
    // and the kubelet may show some new ones before the others.
    return /half-updated/.test(decoded.error)
      ? { kind: 'half-updated', fingerprint, reason: decoded.error }
      : { kind: 'invalid', fingerprint, errors: [`${sources.configDir}: ${decoded.error}`] };
  }
  const configRevision = revisionOf(decoded.config);
  const secretsRevision = revisionOf(decoded.secrets);
  if (configRevision !== null && secretsRevision !== null && configRevision !== secretsRevision) {
    return { kind: 'half-updated', fingerprint, reason: `the config part has revision ${configRevision} and the secret part ${secretsRevision}` };
  }
  const check = checkBundle(decoded.config, decoded.secrets);
  if (!check.ok) return { kind: 'invalid', fingerprint, errors: check.errors };
  return { kind: 'valid', fingerprint, revision: check.bundle.revision, bundle: check.bundle, secrets: check.secrets };
}

function revisionOf(value: unknown): string | null {
  const revision = (value as { revision?: unknown } | null)?.revision;
  return typeof revision === 'string' && revision.length > 0 ? revision : null;
}
