// The operator's own Secret <bundle>-password-index, never mounted into MTA pods: the key
// of the password cache and, per address, the fingerprint of the password its bundle hash
// was made from plus a digest of that hash. A new operator process seeds its cache with
// the bundle's hashes whose digest matches, so it neither re-hashes nor rewrites them; an
// entry that does not match (the bundle was written half-way) is simply hashed again,
// to the same value, since the salt is derived from the key.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeBundleFiles } from '../../../bundle/files.ts';
import type { BundleSecrets } from '../../../bundle/schema.ts';
import { bundleSecretName, type BundleTarget } from '../children/bundle-objects.ts';
import { managedByLabel, type ChildMetadata } from '../children/owner.ts';
import type { KubeClient } from '../kube/client.ts';

export function passwordIndexName(target: BundleTarget): string {
  return `${target.name}-password-index`;
}

export function hashDigest(hash: string): string {
  return createHash('sha256').update(hash).digest('base64').slice(0, 11);
}

export interface PasswordIndex {
  key: Buffer;
  /** address → "<fingerprint>:<digest of the hash>" */
  entries: Record<string, string>;
}

/** The stored index, if any, and the fingerprint → hash pairs of the current bundle it vouches for. */
export async function readPasswordIndex(client: KubeClient, target: BundleTarget): Promise<{ index: PasswordIndex | null; seeds: [string, string][] }> {
  const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: passwordIndexName(target) });
  const data = (secret?.data ?? {}) as Record<string, string>;
  if (!data.key) return { index: null, seeds: [] };
  const index: PasswordIndex = {
    key: Buffer.from(data.key, 'base64'),
    entries: data['index.json.gz'] ? (JSON.parse(gunzipSync(Buffer.from(data['index.json.gz'], 'base64')).toString()) as Record<string, string>) : {},
  };
  const files = new Map<string, Buffer>();
  const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: target.namespace, name: target.name });
  for (const [name, value] of Object.entries((cm?.binaryData ?? {}) as Record<string, string>)) files.set(name, Buffer.from(value, 'base64'));
  for (let i = 0; i < target.shards; i += 1) {
    const shard = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: bundleSecretName(target, i) });
    for (const [name, value] of Object.entries((shard?.data ?? {}) as Record<string, string>)) files.set(name, Buffer.from(value, 'base64'));
  }
  const decoded = decodeBundleFiles(files);
  const hashes = decoded.ok ? ((decoded.secrets as BundleSecrets).passwords ?? {}) : {};
  const seeds: [string, string][] = [];
  for (const [address, entry] of Object.entries(index.entries)) {
    const [fp, digest] = entry.split(':');
    const hash = hashes[address];
    if (fp && hash && hashDigest(hash) === digest) seeds.push([fp, hash]);
  }
  return { index, seeds };
}

export type PasswordIndexSecret = {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ChildMetadata;
  type: 'Opaque';
  data: { key: string; 'index.json.gz': string };
};

export function passwordIndexObject(target: BundleTarget, index: PasswordIndex): PasswordIndexSecret {
  const sorted = Object.fromEntries(Object.entries(index.entries).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: passwordIndexName(target), namespace: target.namespace, labels: { ...managedByLabel, 'app.kubernetes.io/component': 'password-index' } },
    type: 'Opaque',
    data: { key: index.key.toString('base64'), 'index.json.gz': gzipSync(JSON.stringify(sorted), { level: 9 }).toString('base64') },
  };
}
