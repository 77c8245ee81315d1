// The operator's own Secret <bundle>-password-index, never mounted into MTA pods. It holds
// one value, `key`, the operator's master key (the root of the SRS keys). It no longer
// holds anything derived from passwords: an earlier version kept an HMAC of each password
// beside that key, which let whoever read the Secret test guesses at HMAC speed instead of
// scrypt's (docs/trust-model.md); such an entry is removed on the next write.
//
// The password cache is seeded from the hashes in the current bundle itself (every shard
// read on its own, so a bundle written half-way still gives its hashes); each is verified
// with scrypt before it is reused (password-cache.ts).
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { BundleSecrets } from '../../../bundle/schema.ts';
import { bundleSecretName, type BundleTarget } from '../children/bundle-objects.ts';
import { managedByLabel, type ChildMetadata } from '../children/owner.ts';
import type { KubeClient } from '../kube/client.ts';

export function passwordIndexName(target: BundleTarget): string {
  return `${target.name}-password-index`;
}

/** The master key (made and written on first use) and the bundle's hashes, address → hash, to verify before reuse. */
export async function readPasswordIndex(client: KubeClient, target: BundleTarget): Promise<{ key: Buffer; seeds: [string, string][] }> {
  const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: passwordIndexName(target) });
  const data = (secret?.data ?? {}) as Record<string, string>;
  const key = data.key ? Buffer.from(data.key, 'base64') : randomBytes(32);
  // The key first, before anything is derived from it; and a stale password index goes.
  if (!data.key || Object.keys(data).some((name) => name !== 'key')) await client.apply(passwordIndexObject(target, key));

  const seeds: [string, string][] = [];
  for (let i = 0; i < target.shards; i += 1) {
    const shard = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: target.namespace, name: bundleSecretName(target, i) });
    for (const value of Object.values((shard?.data ?? {}) as Record<string, string>)) {
      const passwords = shardPasswords(Buffer.from(value, 'base64'));
      for (const [address, hash] of Object.entries(passwords)) if (typeof hash === 'string') seeds.push([address, hash]);
    }
  }
  return { key, seeds };
}

function shardPasswords(bytes: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse((bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('utf8')) as Partial<BundleSecrets>;
    return parsed.passwords && typeof parsed.passwords === 'object' ? parsed.passwords : {};
  } catch {
    return {};
  }
}

export type PasswordIndexSecret = {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ChildMetadata;
  type: 'Opaque';
  data: { key: string };
};

export function passwordIndexObject(target: BundleTarget, key: Buffer): PasswordIndexSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: passwordIndexName(target), namespace: target.namespace, labels: { ...managedByLabel, 'app.kubernetes.io/component': 'password-index' } },
    type: 'Opaque',
    data: { key: key.toString('base64') },
  };
}
