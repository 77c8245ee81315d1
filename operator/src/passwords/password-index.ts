// The operator's own Secret <bundle>-password-index, never mounted into MTA pods and written
// only by the operator. It holds two values:
//   `key`            the operator's master key (the root of the SRS keys and of the salts);
//   `hash-versions`  gzipped JSON, address → version record: a 12-byte HMAC (under the master
//                    key) of the address, the password Secret's uid/resourceVersion and the
//                    bundle's hash, written when that hash was made from or verified against
//                    that Secret version (password-cache.ts). It is computed from the hash,
//                    never from the password, so it tests no guess faster than the hash does.
// Nothing else derived from passwords is kept: an earlier version kept an HMAC of each password
// beside the key, which let whoever read the Secret test guesses at HMAC speed instead of
// scrypt's (docs/trust-model.md); any value other than these two is removed on the next write.
//
// The password cache is seeded from the hashes in the current bundle itself (every shard
// read on its own, so a bundle written half-way still gives its hashes) and these records.
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BundleSecrets } from '../../../bundle/schema.ts';
import { bundleSecretName, type BundleTarget } from '../children/bundle-objects.ts';
import { managedByLabel, type ChildMetadata } from '../children/owner.ts';
import type { KubeClient } from '../kube/client.ts';

const versionsKey = 'hash-versions';

export function passwordIndexName(target: BundleTarget): string {
  return `${target.name}-password-index`;
}

export interface PasswordIndex {
  key: Buffer;
  /** The bundle's hashes, address → hash. */
  seeds: [string, string][];
  /** The version records, address → digest. */
  versions: Map<string, string>;
}

/** The master key (made and written on first use), the bundle's hashes and the version records. */
export async function readPasswordIndex(client: KubeClient, target: BundleTarget): Promise<PasswordIndex> {
  const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: passwordIndexName(target) });
  const data = (secret?.data ?? {}) as Record<string, string>;
  const key = data.key ? Buffer.from(data.key, 'base64') : randomBytes(32);
  const versions = data[versionsKey] === undefined ? new Map<string, string>() : parseVersions(data[versionsKey]);
  // The key first, before anything is derived from it; and a stale password index (any other value, or records that do not parse) goes.
  const stale = Object.keys(data).some((name) => name !== 'key' && name !== versionsKey) || versions === null;
  if (!data.key || stale) await client.apply(passwordIndexObject(target, key, versions ?? new Map<string, string>()));

  const seeds: [string, string][] = [];
  for (let i = 0; i < target.shards; i += 1) {
    const shard = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: bundleSecretName(target, i) });
    for (const value of Object.values((shard?.data ?? {}) as Record<string, string>)) {
      const passwords = shardPasswords(Buffer.from(value, 'base64'));
      for (const [address, hash] of Object.entries(passwords)) if (typeof hash === 'string') seeds.push([address, hash]);
    }
  }
  return { key, seeds, versions: versions ?? new Map<string, string>() };
}

function shardPasswords(bytes: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse((bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('utf8')) as Partial<BundleSecrets>;
    return parsed.passwords && typeof parsed.passwords === 'object' ? parsed.passwords : {};
  } catch {
    return {};
  }
}

/** The records of `hash-versions` (base64 of gzipped JSON), or null if they do not parse. */
export function parseVersions(encoded: string): Map<string, string> | null {
  try {
    const parsed: unknown = JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const entries = Object.entries(parsed as Record<string, unknown>);
    return entries.every(([, digest]) => typeof digest === 'string') ? new Map(entries as [string, string][]) : null;
  } catch {
    return null;
  }
}

/** `hash-versions` as stored: sorted, so the same records give the same bytes. */
export function encodeVersions(versions: Map<string, string>): string {
  const sorted = Object.fromEntries([...versions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return gzipSync(JSON.stringify(sorted), { level: 9 }).toString('base64');
}

export type PasswordIndexSecret = {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ChildMetadata;
  type: 'Opaque';
  data: { key: string; 'hash-versions': string };
};

export function passwordIndexObject(target: BundleTarget, key: Buffer, versions: Map<string, string>): PasswordIndexSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: passwordIndexName(target), namespace: target.namespace, labels: { ...managedByLabel, 'app.kubernetes.io/component': 'password-index' } },
    type: 'Opaque',
    data: { key: key.toString('base64'), 'hash-versions': encodeVersions(versions) },
  };
}
