// Password hashes for the bundle, computed off the event loop and remembered.
//
// scrypt is deliberately slow (~50-100 ms). Two things keep the bundle stable:
//   - the salt is derived from a secret key and (address, password) with an HMAC, so the
//     same password always gives the same hash under the same key: a restarted operator,
//     or one killed half-way through writing a bundle, renders the very same bundle;
//   - hashes are cached by a keyed fingerprint of (address, password), and the
//     fingerprints are kept in an operator-only Secret (password-index.ts), so a restarted
//     operator reuses the bundle's hashes instead of spending minutes re-hashing.
// Without the key, neither salt nor fingerprint says anything about a password; the key
// lives only in the operator's own Secret, never in the MTA's.
import { createHmac, randomBytes } from 'node:crypto';
import { defaultCost, hashPasswordAsync, type ScryptCost } from '../../../bundle/password-hash.ts';

export type PasswordMisses = Map<string, { address: string; password: string }>;

export class PasswordHashCache {
  readonly key: Buffer;
  private readonly hashes = new Map<string, string>();
  private readonly cost: ScryptCost;

  constructor(key: Buffer = randomBytes(32), cost: ScryptCost = defaultCost) {
    this.key = key;
    this.cost = cost;
  }

  private mac(purpose: string, address: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(purpose).update('\0').update(address).update('\0').update(password).digest().subarray(0, 16);
  }

  fingerprintOf(address: string, password: string): string {
    return this.mac('fingerprint', address, password).toString('base64');
  }

  /** Remembers hashes made earlier (fingerprint → hash), e.g. by a previous operator process. */
  seed(entries: Iterable<[string, string]>): void {
    for (const [fp, hash] of entries) this.hashes.set(fp, hash);
  }

  /** The cached hash, or undefined (and the pair is remembered as a miss). */
  lookup(address: string, password: string, misses: PasswordMisses): string | undefined {
    const fp = this.fingerprintOf(address, password);
    const hash = this.hashes.get(fp);
    if (hash === undefined) misses.set(fp, { address, password });
    return hash;
  }

  /** Hashes every miss, a few at a time on libuv's thread pool. */
  async fill(misses: PasswordMisses, parallel = 4): Promise<void> {
    const entries = [...misses];
    const next = async (): Promise<void> => {
      const entry = entries.shift();
      if (!entry) return;
      const [fp, { address, password }] = entry;
      this.hashes.set(fp, await hashPasswordAsync(password, this.cost, this.mac('salt', address, password)));
      await next();
    };
    await Promise.all(Array.from({ length: parallel }, next));
  }

  /** Drops entries not used by the latest render, so removed mailboxes do not linger. */
  retain(used: Set<string>): void {
    for (const fp of this.hashes.keys()) if (!used.has(fp)) this.hashes.delete(fp);
  }
}
