// The bundle's password hashes across renders and operator restarts. render() asks for
// a hash per mailbox password; a first pass finds the passwords without a verified hash,
// they are verified or hashed off the event loop, and a second pass renders with all of
// them. A restarted operator takes over the bundle's hashes (password-index.ts): one whose
// version record matches its password Secret's uid/resourceVersion is reused at once, any
// other is verified once, instead of re-hashing every password and rewriting an unchanged
// bundle. The records are written back to the index Secret only when they changed.
//
// The first pass stands a well-formed placeholder in for each hash it lacks (pendingHash),
// so the bundle check (render/bundle-guard.ts) finds nothing to hold out: its findings are
// the final render's but for the hash values, and are handed to `preliminary` before the
// hashing starts (issue 15: 1,000 new passwords take 30-60 s of scrypt, during which the
// domains can already be reconciled). Its bundle is never written.
import { platformCost } from '../../../bundle/password-hash.ts';
import type { BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderInput } from '../render/input.ts';
import { render, type RenderResult } from '../render/render.ts';
import { PasswordHashCache, type PasswordMisses } from './password-cache.ts';
import { passwordIndexObject, readPasswordIndex } from './password-index.ts';

/**
 * What the first pass stores for a hash it does not have yet: of the form and length of a
 * real one (the platform's cost, a 16-byte salt and a 32-byte hash, all zero), so the bundle
 * check passes it and the bundle's size is the final one's. No password hashes to it
 * (scrypt would have to output 32 zero bytes), and no bundle holding it is written.
 */
export const pendingHash = `$scrypt$ln=${platformCost.ln},r=${platformCost.r},p=${platformCost.p}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

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

  /**
   * render() with every password hashed. When some must be hashed first, `preliminary` is
   * given the first pass's result (placeholders for those hashes, pendingHash) before they are.
   */
  async render(input: Omit<RenderInput, 'hashPassword'>, preliminary?: (result: RenderResult) => void): Promise<RenderResult> {
    this.loaded ??= await this.load();
    const { cache } = this.loaded;
    const misses: PasswordMisses = new Map();
    const used = new Set<string>();
    const lookup = (address: string, password: string, source?: string) => {
      used.add(address);
      return cache.lookup(address, password, misses, source) ?? pendingHash;
    };
    let result = render({ ...input, hashPassword: lookup });
    if (misses.size > 0) {
      preliminary?.(result);
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
