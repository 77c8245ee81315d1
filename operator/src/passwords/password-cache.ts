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
// A restarted operator takes the bundle's hashes as candidates (password-index.ts). For
// each address it also has, from its own index Secret, a version record: a keyed digest of
// the address, the password Secret's uid/resourceVersion and the hash, written when the
// hash was made from or verified against that Secret version. A candidate whose record
// matches the Secret as it is now is reused without scrypt; any other (a changed Secret, a
// hash someone else put in the bundle, no record) is verified once, as before.
import { createHmac, randomBytes } from 'node:crypto';
import { hashPasswordAsync, passwordHashProblem, verifyPasswordAsync } from '../../../bundle/password-hash.ts';

/**
 * address → the plain-text password render asked to hash, the stored hash to try first, and
 * the version (uid/resourceVersion) of the Secret the password came from, if it has one.
 */
export type PasswordMisses = Map<string, { password: string; candidate: string | undefined; source: string | undefined }>;

/** The bytes of a version record's digest: keyed, so only the holder of the master key can make one. */
const versionDigestBytes = 12;

export class PasswordHashCache {
  private readonly saltKey: Buffer;
  /** address → the hash of that address in the bundle (or about to be). */
  private readonly byAddress = new Map<string, string>();
  /** stored hash → the password it was verified against or made from. */
  private readonly verified = new Map<string, string>();
  /** address → digest of (address, Secret version, hash): that hash was made from or checked against that version. */
  private readonly versions = new Map<string, string>();

  /** `saltKey`: the operator's master key (password-index.ts); a random one gives random salts. */
  constructor(saltKey: Buffer = randomBytes(32)) {
    this.saltKey = saltKey;
  }

  private saltFor(address: string): Buffer {
    return createHmac('sha256', this.saltKey).update('password-salt').update('\0').update(address).digest().subarray(0, 16);
  }

  private versionDigest(address: string, source: string, hash: string): string {
    const mac = createHmac('sha256', this.saltKey).update('password-version').update('\0').update(address).update('\0').update(source);
    return mac.update('\0').update(hash).digest().subarray(0, versionDigestBytes).toString('base64');
  }

  /**
   * Hashes found in the bundle (address → hash), e.g. written by a previous operator process,
   * and the version records of the operator's index (address → digest). A hash is reused
   * without scrypt only when its record matches the password Secret's current version.
   */
  seed(entries: Iterable<[string, string]>, versions: Iterable<[string, string]> = []): void {
    for (const [address, hash] of entries) if (!this.byAddress.has(address)) this.byAddress.set(address, hash);
    for (const [address, digest] of versions) if (!this.versions.has(address)) this.versions.set(address, digest);
  }

  /** The hash to store for `password` from the Secret version `source`, or undefined (and the pair is remembered as a miss). */
  lookup(address: string, password: string, misses: PasswordMisses, source?: string): string | undefined {
    const hash = this.byAddress.get(address);
    if (hash !== undefined && this.verified.get(hash) === password) {
      this.record(address, source, hash);
      return hash;
    }
    if (hash !== undefined && source !== undefined && this.versions.get(address) === this.versionDigest(address, source, hash)) {
      this.verified.set(hash, password);
      return hash;
    }
    misses.set(address, { password, candidate: hash, source });
    return undefined;
  }

  /** The version records to persist (address → digest): nothing about any password but its hash. */
  versionRecords(): Map<string, string> {
    return new Map(this.versions);
  }

  private record(address: string, source: string | undefined, hash: string): void {
    if (source === undefined) this.versions.delete(address);
    else this.versions.set(address, this.versionDigest(address, source, hash));
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
      const [address, { password, candidate, source }] = entry;
      const reusable = candidate !== undefined && passwordHashProblem(candidate) === null && (await verifyPasswordAsync(candidate, password));
      const hash = reusable ? candidate : await hashPasswordAsync(password, this.saltFor(address));
      if (candidate !== undefined && candidate !== hash) this.verified.delete(candidate);
      this.byAddress.set(address, hash);
      this.verified.set(hash, password);
      this.record(address, source, hash);
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
    for (const address of this.versions.keys()) if (!addresses.has(address)) this.versions.delete(address);
  }
}
