// The bundle's password hashes across renders and operator restarts. render() asks for
// a hash per mailbox password; a first pass finds the passwords without a cached hash,
// they are hashed off the event loop, and a second pass renders with all of them. The
// index Secret (password-index.ts) records which hash in the bundle belongs to which
// password, so a restarted operator takes over the bundle's hashes instead of re-hashing
// every password and rewriting an unchanged bundle.
import type { BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderInput } from '../render/input.ts';
import { render, type RenderResult } from '../render/render.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';
import { hashDigest, passwordIndexObject, readPasswordIndex } from './password-index.ts';

export class BundlePasswords {
  private readonly client: KubeClient;
  private readonly target: BundleTarget;
  private cache: PasswordHashCache | null = null;
  private writtenIndex = '';
  /** address → fingerprint of the password hashed for it in the latest render. */
  private fingerprints = new Map<string, string>();

  constructor(client: KubeClient, target: BundleTarget) {
    this.client = client;
    this.target = target;
  }

  /** The key of the operator's own index Secret (loaded or made on first use), the root of the SRS keys. */
  async masterKey(): Promise<Buffer> {
    this.cache ??= await this.load();
    return this.cache.key;
  }

  /** render() with every password hashed. */
  async render(input: Omit<RenderInput, 'hashPassword'>): Promise<RenderResult> {
    this.cache ??= await this.load();
    const cache = this.cache;
    const misses: PasswordMisses = new Map();
    const used = new Map<string, string>();
    // Fingerprints are recorded by address; render calls this once per mailbox with a password.
    const lookup = (address: string, password: string) => {
      used.set(address, cache.fingerprintOf(address, password));
      return cache.lookup(address, password, misses) ?? '$pending';
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      await cache.fill(misses);
      result = render({ ...input, hashPassword: lookup });
    }
    cache.retain(new Set(used.values()));
    this.fingerprints = used;
    return result;
  }

  /** Writes the index Secret when the hashes in the rendered bundle changed. */
  async saveIndex(result: RenderResult): Promise<void> {
    const entries = Object.fromEntries(
      Object.entries(result.secrets.passwords).flatMap(([address, hash]) => {
        const fp = this.fingerprints.get(address);
        return fp ? [[address, `${fp}:${hashDigest(hash)}`]] : [];
      }),
    );
    const index = JSON.stringify(Object.entries(entries).sort());
    if (index !== this.writtenIndex && this.cache) {
      await this.client.apply(passwordIndexObject(this.target, { key: this.cache.key, entries }));
      this.writtenIndex = index;
    }
  }

  private async load(): Promise<PasswordHashCache> {
    const { index, seeds } = await readPasswordIndex(this.client, this.target);
    const cache = new PasswordHashCache(index?.key);
    cache.seed(seeds);
    if (index) this.writtenIndex = JSON.stringify(Object.entries(index.entries).sort());
    else await this.client.apply(passwordIndexObject(this.target, { key: cache.key, entries: {} })); // the key first, before any hash made with it
    return cache;
  }
}
