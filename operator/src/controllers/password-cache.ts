// Password hashes for the bundle, computed off the event loop and remembered.
//
// scrypt is deliberately slow (~50-100 ms), and a salted hash differs every time, so
// re-hashing on every render would both burn CPU and change the bundle (and restart
// nothing useful) on every reconcile. The cache maps a keyed fingerprint of
// (address, password) to the hash made for it: unchanged passwords keep their hash. The
// fingerprint is an HMAC with a per-process random key, so the in-memory table reveals
// nothing about passwords. After an operator restart passwords are hashed once again.
import { createHmac, randomBytes } from 'node:crypto';
import { defaultCost, hashPasswordAsync, type ScryptCost } from '../../../mta/src/auth/password-hash.ts';

export class PasswordHashCache {
  private readonly key = randomBytes(32);
  private readonly hashes = new Map<string, string>();
  private readonly cost: ScryptCost;

  constructor(cost = defaultCost) {
    this.cost = cost;
  }

  private fingerprint(address: string, password: string): string {
    return createHmac('sha256', this.key).update(address).update('\0').update(password).digest('base64');
  }

  /** The cached hash, or undefined (and the pair is remembered as needed). */
  lookup(address: string, password: string, misses: Map<string, { address: string; password: string }>): string | undefined {
    const fp = this.fingerprint(address, password);
    const hash = this.hashes.get(fp);
    if (hash === undefined) misses.set(fp, { address, password });
    return hash;
  }

  /** Hashes every miss, a few at a time on libuv's thread pool. */
  async fill(misses: Map<string, { address: string; password: string }>, parallel = 4): Promise<void> {
    const entries = [...misses];
    const next = async (): Promise<void> => {
      const entry = entries.shift();
      if (!entry) return;
      const [fp, { password }] = entry;
      this.hashes.set(fp, await hashPasswordAsync(password, this.cost));
      await next();
    };
    await Promise.all(Array.from({ length: parallel }, next));
  }

  /** Drops entries not used by the latest render, so removed mailboxes do not linger. */
  retain(used: Set<string>): void {
    for (const fp of this.hashes.keys()) if (!used.has(fp)) this.hashes.delete(fp);
  }

  fingerprintOf(address: string, password: string): string {
    return this.fingerprint(address, password);
  }
}
