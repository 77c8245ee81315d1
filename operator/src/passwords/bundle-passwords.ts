// The bundle's password hashes across renders and operator restarts. render() asks for
// a hash per mailbox password; a first pass finds the passwords without a verified hash,
// they are verified or hashed off the event loop, and a second pass renders with all of
// them. A restarted operator takes over the bundle's hashes (password-index.ts), verifying
// each once, instead of re-hashing every password and rewriting an unchanged bundle.
import type { BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderInput } from '../render/input.ts';
import { render, type RenderResult } from '../render/render.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';
import { readPasswordIndex } from './password-index.ts';

export class BundlePasswords {
  private readonly client: KubeClient;
  private readonly target: BundleTarget;
  private loaded: { key: Buffer; cache: PasswordHashCache } | null = null;

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
    const lookup = (address: string, password: string) => {
      used.add(address);
      return cache.lookup(address, password, misses) ?? '$pending';
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      await cache.fill(misses);
      result = render({ ...input, hashPassword: lookup });
    }
    cache.retain(used);
    return result;
  }

  private async load(): Promise<{ key: Buffer; cache: PasswordHashCache }> {
    const { key, seeds } = await readPasswordIndex(this.client, this.target);
    const cache = new PasswordHashCache(key);
    cache.seed(seeds);
    return { key, cache };
  }
}
