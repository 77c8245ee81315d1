// Reads the configuration bundle from mounted files, once, and says what was found.
//
// The two parts live in `<configDir>/bundle.json` and `<secretDir>/secrets.json`; both
// directories may be the same. In Kubernetes a mounted ConfigMap or Secret shows its files
// as symlinks into `..data/`, itself a symlink to a timestamped directory that the kubelet
// swaps atomically on update. Reading through the symlinks gives one consistent version of
// each part, but the ConfigMap and the Secret are updated separately (each on its own
// kubelet sync), so for a while the two parts may come from different renders. Both carry
// the same `revision` when they belong together; a pair whose revisions differ is
// "half-updated": not an error yet, the watcher waits for the other part.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBundle } from './bundle-check.ts';
import type { Bundle, BundleSecrets } from './bundle-schema.ts';

export interface BundleSources {
  /** The config part (a ConfigMap's bundle.json). */
  readonly configFile: string;
  /** The secret part (a Secret's secrets.json). */
  readonly secretsFile: string;
}

/** Where the two parts are, given the mounted directories (one directory holding both is fine). */
export function bundleSources(configDir: string, secretDir: string = configDir): BundleSources {
  return { configFile: join(configDir, 'bundle.json'), secretsFile: join(secretDir, 'secrets.json') };
}

export type BundleRead =
  | { readonly kind: 'valid'; readonly fingerprint: string; readonly revision: string; readonly bundle: Bundle; readonly secrets: BundleSecrets }
  | { readonly kind: 'half-updated'; readonly fingerprint: string; readonly configRevision: string; readonly secretsRevision: string }
  | { readonly kind: 'invalid'; readonly fingerprint: string; readonly errors: string[] };

/** Reads a file's text; injected so tests can simulate unreadable files. */
export type ReadText = (path: string) => string;

const readText: ReadText = (path) => readFileSync(path, 'utf8');

/**
 * Reads and checks both parts. Never throws: unreadable files and bad JSON are `invalid`
 * with a sentence each. `fingerprint` identifies what was read (the bytes of both parts, or
 * the errors), so a watcher can skip work and repeated log lines when nothing changed.
 */
export function readBundle(sources: BundleSources, read: ReadText = readText): BundleRead {
  const config = readJson(sources.configFile, read);
  const secrets = readJson(sources.secretsFile, read);
  const fingerprint = createHash('sha256')
    .update(config.text ?? config.error ?? '').update('\0').update(secrets.text ?? secrets.error ?? '')
    .digest('hex');
  const unreadable = [config.error, secrets.error].filter((e): e is string => e !== undefined);
  if (unreadable.length > 0) return { kind: 'invalid', fingerprint, errors: unreadable };

  const configRevision = revisionOf(config.value);
  const secretsRevision = revisionOf(secrets.value);
  if (configRevision !== null && secretsRevision !== null && configRevision !== secretsRevision) {
    return { kind: 'half-updated', fingerprint, configRevision, secretsRevision };
  }
  const check = checkBundle(config.value, secrets.value);
  if (!check.ok) return { kind: 'invalid', fingerprint, errors: check.errors };
  return { kind: 'valid', fingerprint, revision: check.bundle.revision, bundle: check.bundle, secrets: check.secrets };
}

function readJson(path: string, read: ReadText): { text?: string; value?: unknown; error?: string } {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot be read (${code ?? String(err)})` };
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch (err) {
    return { text, error: `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

function revisionOf(value: unknown): string | null {
  const revision = (value as { revision?: unknown } | null)?.revision;
  return typeof revision === 'string' && revision.length > 0 ? revision : null;
}
