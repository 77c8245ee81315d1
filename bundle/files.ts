// How the bundle is laid out as files, in a ConfigMap and Secrets, and read back.
//
// A Kubernetes object holds at most 1 MiB. The config part compresses well (gzip,
// ~10x for address tables), so it is one ConfigMap key `bundle.json.gz`. The secret
// part is mostly random (key material, salted hashes) and compresses poorly: 10,000
// scrypt hashes alone are ~1.3 MB. It is therefore split into a fixed number of shards,
// one Secret each (`secrets-<i>-of-<n>.json.gz`), which the MTA pod mounts together
// through one projected volume, so all shards appear, and change, in one directory at
// once. Each shard holds whole entries (a mailbox's hash, a domain's keys), chosen by a
// stable hash of the entry's key, so unchanged entries stay in their shard.
//
// Plain `bundle.json` / `secrets.json` (what `stafette render` writes) are read too.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Bundle, BundleSecrets } from './schema.ts';

export const configFileName = 'bundle.json.gz';

export function secretShardFileName(index: number, shards: number): string {
  return `secrets-${index}-of-${shards}.json.gz`;
}

/**
 * What a Secret or ConfigMap may hold: the API server refuses an object whose data is larger
 * (1 MiB, MaxSecretSize and MaxConfigMapSize). The operator checks every file of a bundle
 * against it before writing (operator/src/render/bundle-guard.ts).
 */
export const maxObjectDataBytes = 1024 * 1024;

/** The shard a secret entry goes to: a stable hash of its key (such as `password:<address>`). */
export function shardOf(key: string, shards: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % shards;
}

/** The config file and the secret shard files (index = shard) for a rendered bundle. */
export function encodeBundleFiles(bundle: Bundle, secrets: BundleSecrets, shards: number): { config: Buffer; secretShards: Buffer[] } {
  const parts: BundleSecrets[] = Array.from({ length: shards }, () => ({
    apiVersion: secrets.apiVersion,
    revision: secrets.revision,
    dkimKeys: [],
    passwords: {},
    relayCredentials: {},
    webhookKeys: {},
    tlsCertificates: {},
  }));
  const part = (key: string) => parts[shardOf(key, shards)] as BundleSecrets;
  for (const key of secrets.dkimKeys) part(`dkim:${key.domain}`).dkimKeys.push(key);
  for (const [k, v] of Object.entries(secrets.passwords)) part(`password:${k}`).passwords[k] = v;
  for (const [k, v] of Object.entries(secrets.relayCredentials)) part(`relay:${k}`).relayCredentials[k] = v;
  for (const [k, v] of Object.entries(secrets.webhookKeys)) part(`webhook:${k}`).webhookKeys[k] = v;
  for (const [k, v] of Object.entries(secrets.tlsCertificates)) part(`tls:${k}`).tlsCertificates[k] = v;
  // mtime 0 and a fixed level keep the bytes identical for identical content.
  const gzip = (value: unknown) => gzipSync(Buffer.from(JSON.stringify(value)), { level: 9 });
  return { config: gzip(bundle), secretShards: parts.map(gzip) };
}

// Up to this many missing shards are named in the refusal; beyond it only counted.
const maxNamedMissingShards = 10;

export type BundleFilesResult = { ok: true; config: unknown; secrets: unknown } | { ok: false; error: string };

/**
 * Reads the two parts from a set of files (name → bytes), whichever layout they are in.
 * The parsed JSON is returned unchecked: checkBundle() validates it.
 */
export function decodeBundleFiles(files: ReadonlyMap<string, Buffer>): BundleFilesResult {
  try {
    const config = files.has(configFileName)
      ? json(gunzipSync(files.get(configFileName) as Buffer))
      : files.has('bundle.json')
        ? json(files.get('bundle.json') as Buffer)
        : undefined;
    if (config === undefined) return { ok: false, error: `no ${configFileName} or bundle.json` };
    if (files.has('secrets.json')) return { ok: true, config, secrets: json(files.get('secrets.json') as Buffer) };

    const shardNames = [...files.keys()].filter((n) => /^secrets-\d+-of-\d+\.json\.gz$/.test(n));
    if (shardNames.length === 0) return { ok: false, error: 'no secrets.json or secrets-<i>-of-<n>.json.gz' };
    const total = Number(/-of-(\d+)\./.exec(shardNames[0] as string)?.[1]);
    // The count comes from a file name: compare it with the files present before building a list
    // of that length (found by fuzzing, docs/fuzzing.md: "-of-100000000" ran the MTA out of memory).
    if (total - shardNames.length > maxNamedMissingShards) return { ok: false, error: `secret shards incomplete: found ${shardNames.length} of ${total}` };
    const expected = Array.from({ length: total }, (_, i) => secretShardFileName(i, total));
    const missing = expected.filter((n) => !files.has(n));
    if (missing.length > 0 || shardNames.length !== total)
      return { ok: false, error: `secret shards incomplete: missing ${missing.join(', ') || 'none'}, found ${shardNames.length} of ${total}` };
    const shards = expected.map((n) => json(gunzipSync(files.get(n) as Buffer)) as BundleSecrets);
    const first = shards[0] as BundleSecrets;
    const merged: BundleSecrets = { ...first, dkimKeys: [], passwords: {}, relayCredentials: {}, webhookKeys: {}, tlsCertificates: {} };
    for (const s of shards) {
      if (s.revision !== first.revision)
        return { ok: false, error: `secret shards of different revisions (${first.revision}, ${s.revision}): a half-updated mount` };
      merged.dkimKeys.push(...s.dkimKeys);
      Object.assign(merged.passwords, s.passwords);
      Object.assign(merged.relayCredentials, s.relayCredentials);
      Object.assign(merged.webhookKeys, s.webhookKeys);
      Object.assign(merged.tlsCertificates, s.tlsCertificates);
    }
    merged.dkimKeys.sort((a, b) => (`${a.domain}/${a.selector}` < `${b.domain}/${b.selector}` ? -1 : 1));
    return { ok: true, config, secrets: merged };
  } catch (err) {
    return { ok: false, error: `unreadable bundle file: ${(err as Error).message}` };
  }
}

function json(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'));
}
