// Password hashes for the bundle, computed off the event loop and remembered.
//
// scrypt is deliberately slow (~50-100 ms), and a bundle whose hashes change on every
// render would be rewritten on every change anywhere. So the cache is keyed by the stored
// hash: for each address it keeps the hash in the bundle and, once it has verified it
// with scrypt, the password that hash was checked against (in memory only; the operator
// holds that password in its Secret cache anyway). A render whose password still matches
// reuses the hash; a changed password, or a hash of another cost after `platformCost`
// was raised, is hashed anew.
//
// The salt is derived from the operator's master key and the address alone (never from the
// password), so a password hashes to the same value in every operator process: one killed
// between writing two bundle shards renders the very same bundle again instead of a new one
// each time (test/operator/resilience.test.ts), and the salt says nothing about the password.
//
// There is no fast verifier (docs/trust-model.md, "Passwords and delivery targets"):
// nothing derived from a password other than its scrypt hash is kept or written, so
// whoever reads the operator's Secrets guesses at scrypt speed, as against the bundle.
// A restarted operator takes the bundle's hashes as candidates (password-index.ts) and
// verifies each once, one scrypt run per login, instead of rewriting the bundle.
import { createHmac, randomBytes } from 'node:crypto';
import { hashPasswordAsync, passwordHashProblem, verifyPasswordAsync } from '../../../bundle/password-hash.ts';

/** address → the plain-text password render asked to hash, and the stored hash to try first. */
export type PasswordMisses = Map<string, { password: string; candidate: string | undefined }>;

export class PasswordHashCache {
  private readonly saltKey: Buffer;
  /** address → the hash of that address in the bundle (or about to be). */
  private readonly byAddress = new Map<string, string>();
  /** stored hash → the password it was verified against or made from. */
  private readonly verified = new Map<string, string>();

  /** `saltKey`: the operator's master key (password-index.ts); a random one gives random salts. */
  constructor(saltKey: Buffer = randomBytes(32)) {
    this.saltKey = saltKey;
  }

  private saltFor(address: string): Buffer {
    return createHmac('sha256', this.saltKey).update('password-salt').update('\0').update(address).digest().subarray(0, 16);
  }

  /** Hashes found in the bundle (address → hash), e.g. written by a previous operator process; verified before use. */
  seed(entries: Iterable<[string, string]>): void {
    for (const [address, hash] of entries) if (!this.byAddress.has(address)) this.byAddress.set(address, hash);
  }

  /** The hash to store for `password`, or undefined (and the pair is remembered as a miss). */
  lookup(address: string, password: string, misses: PasswordMisses): string | undefined {
    const hash = this.byAddress.get(address);
    if (hash !== undefined && this.verified.get(hash) === password) return hash;
    misses.set(address, { password, candidate: hash });
    return undefined;
  }

  /**
   * Verifies or makes the hash of every miss, `parallel` at a time on libuv's thread pool.
   * Each scrypt run holds 128·N·r bytes (32 MiB at the platform cost) until it ends, so the
   * operator's memory grows by that much per hash in flight; two keep a 2-core node's CPUs
   * busy (more only queue on the same cores) and leave two of libuv's four threads to DKIM
   * key generation and DNS.
   */
  async fill(misses: PasswordMisses, parallel = 2): Promise<void> {
    const entries = [...misses];
    const next = async (): Promise<void> => {
      const entry = entries.shift();
      if (!entry) return;
      const [address, { password, candidate }] = entry;
      const reusable = candidate !== undefined && passwordHashProblem(candidate) === null && (await verifyPasswordAsync(candidate, password));
      const hash = reusable ? candidate : await hashPasswordAsync(password, this.saltFor(address));
      if (candidate !== undefined && candidate !== hash) this.verified.delete(candidate);
      this.byAddress.set(address, hash);
      this.verified.set(hash, password);
      await next();
    };
    await Promise.all(Array.from({ length: parallel }, next));
  }

  /** Drops entries of addresses the latest render did not ask for, so removed mailboxes do not linger. */
  retain(addresses: Set<string>): void {
    for (const [address, hash] of this.byAddress) {
      if (addresses.has(address)) continue;
      this.byAddress.delete(address);
      this.verified.delete(hash);
    }
  }
}
