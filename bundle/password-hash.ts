// Password hashes for SMTP AUTH: scrypt (memory-hard), in the PHC string form
//   $scrypt$ln=15,r=8,p=1$<salt, base64>$<hash, base64>
// The platform has one cost, `platformCost`, declared here and nowhere else
// (docs/trust-model.md, "Passwords and delivery targets"): the operator refuses a
// pre-hashed password of any other cost and the MTA's bundle check refuses a bundle that
// carries one, so no tenant can make each AUTH attempt cost what it likes (one attempt at
// ln=20, r=16 would take 4 GiB). Raising the cost means changing `platformCost`: the
// operator then re-hashes every plain-text password and flags the pre-hashed ones.
// ln=15 (32 MiB, ~50-100 ms here) keeps a brute-force attempt expensive while an MTA pod
// still verifies a few logins per second per core.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  ln: number;
  r: number;
  p: number;
}

/** The one scrypt cost of the platform. */
export const platformCost: Readonly<ScryptCost> = Object.freeze({ ln: 15, r: 8, p: 1 });
const keyLength = 32;
const saltLength = 16;

function scryptOptions(cost: ScryptCost) {
  const N = 2 ** cost.ln;
  return { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
}

function derive(password: string, salt: Buffer): Buffer {
  return scryptSync(password.normalize('NFC'), salt, keyLength, scryptOptions(platformCost));
}

// The async form runs scrypt on libuv's thread pool: a login on the SMTP intake must not
// stop every other session for the ~50-100 ms one hash takes.
function deriveAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, scryptOptions(platformCost), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const prefix = `$scrypt$ln=${platformCost.ln},r=${platformCost.r},p=${platformCost.p}$`;

function encode(salt: Buffer, hash: Buffer): string {
  return `${prefix}${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function hashPassword(password: string, salt: Buffer = randomBytes(saltLength)): string {
  return encode(salt, derive(password, salt));
}

/** hashPassword off the event loop (libuv thread pool), for the operator hashing many at once. */
export async function hashPasswordAsync(password: string, salt: Buffer = randomBytes(saltLength)): Promise<string> {
  return encode(salt, await deriveAsync(password, salt));
}

interface ParsedHash {
  salt: Buffer;
  expected: Buffer;
}

const phc = /^\$scrypt\$ln=(\d{1,3}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Whether a value is meant as a hash rather than a plain-text password: a PHC string ($scrypt$…, $2b$…, $argon2id$…). */
export function looksLikeHash(value: string): boolean {
  return /^\$[a-z0-9-]+\$/.test(value);
}

/**
 * Why `encoded` is not a password hash the platform verifies, or null if it is one:
 * an scrypt PHC string of exactly `platformCost`, a salt of 8 to 64 bytes and a 32-byte hash.
 */
export function passwordHashProblem(encoded: string): string | null {
  const match = phc.exec(encoded);
  if (!match) return 'not an scrypt hash of the form $scrypt$ln=…,r=…,p=…$<salt>$<hash>';
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln !== platformCost.ln || r !== platformCost.r || p !== platformCost.p) {
    return `scrypt cost ln=${ln},r=${r},p=${p} is not the platform's ln=${platformCost.ln},r=${platformCost.r},p=${platformCost.p}`;
  }
  const salt = Buffer.from(match[4] as string, 'base64');
  if (salt.length < 8 || salt.length > 64) return `salt of ${salt.length} bytes (8 to 64 are accepted)`;
  if (Buffer.from(match[5] as string, 'base64').length !== keyLength) return `hash is not ${keyLength} bytes`;
  return null;
}

function parseHash(encoded: string): ParsedHash | null {
  if (passwordHashProblem(encoded) !== null) return null;
  const match = phc.exec(encoded) as RegExpExecArray;
  return { salt: Buffer.from(match[4] as string, 'base64'), expected: Buffer.from(match[5] as string, 'base64') };
}

/**
 * A hash of the platform cost that no password matches, for logins that do not exist, so
 * that they cost the same scrypt work as one that does (docs/trust-model.md).
 */
export const decoyPasswordHash = encode(Buffer.alloc(saltLength, 7), Buffer.alloc(keyLength, 9));

/** Whether `password` matches `encoded`; false (never an exception) for hashes the platform does not accept. */
export function verifyPassword(encoded: string, password: string): boolean {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  return timingSafeEqual(derive(password, parsed.salt), parsed.expected);
}

/**
 * verifyPassword off the event loop (libuv thread pool); same answers. A hash the platform
 * does not accept still costs one scrypt run against the decoy, so no answer comes faster.
 */
export async function verifyPasswordAsync(encoded: string, password: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  const derived = await deriveAsync(password, parsed?.salt ?? Buffer.alloc(saltLength, 7));
  return parsed !== null && timingSafeEqual(derived, parsed.expected);
}
