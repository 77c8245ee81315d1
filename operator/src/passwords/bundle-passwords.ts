// The bundle's password hashes across renders and operator restarts. render() asks for
// a hash per mailbox password; a first pass finds the passwords without a verified hash,
// they are verified or hashed off the event loop, and a second pass renders with all of
// them. A restarted operator takes over the bundle's hashes (password-index.ts): one whose
// version record matches its password Secret's uid/resourceVersion is reused at once, any
// other is verified once, instead of re-hashing every password and rewriting an unchanged
// bundle. The records are written back to the index Secret only when they changed.
import type { BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderInput } from '../render/input.ts';
import { render, type RenderResult } from '../render/render.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';
import { passwordIndexObject, readPasswordIndex } from './password-index.ts';

export class BundlePasswords {
  private readonly client: KubeClient;
  private readonly target: BundleTarget;
  private loaded: { key: Buffer; cache: PasswordHashCache; written: Map<string, string> } | null = null;

  constructor(client: KubeClient, target: BundleTarget) {
    this.client = client;
    this.target = target;
  }

  /** The key of the operator's own index Secret (loaded or made on first use), the root of the SRS keys. */
  async masterKey(): Promise<Buffer> {
    this.loaded ??= await this.load();
    return this.loaded.key;
  }

  /** render() with every password hashed. */
  async render(input: Omit<RenderInput, 'hashPassword'>): Promise<RenderResult> {
    this.loaded ??= await this.load();
    const { cache } = this.loaded;
    const misses: PasswordMisses = new Map();
    const used = new Set<string>();
    const lookup = (address: string, password: string, source?: string) => {
      used.add(address);
      return cache.lookup(address, password, misses, source) ?? '$pending';
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      await cache.fill(misses);
      result = render({ ...input, hashPassword: lookup });
    }
    cache.retain(used);
    await this.writeVersions();
    return result;
  }

  /** Writes the version records to the index Secret if they differ from those last written or read. */
  private async writeVersions(): Promise<void> {
    if (!this.loaded) return;
    const { key, cache, written } = this.loaded;
    const versions = cache.versionRecords();
    if (sameRecords(versions, written)) return;
    await this.client.apply(passwordIndexObject(this.target, key, versions));
    this.loaded.written = versions;
  }

  private async load(): Promise<{ key: Buffer; cache: PasswordHashCache; written: Map<string, string> }> {
    const { key, seeds, versions } = await readPasswordIndex(this.client, this.target);
    const cache = new PasswordHashCache(key);
    cache.seed(seeds, versions);
    return { key, cache, written: versions };
  }
}

function sameRecords(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [address, digest] of a) if (b.get(address) !== digest) return false;
  return true;
}
