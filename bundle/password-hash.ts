// Password hashes for SMTP AUTH: scrypt (memory-hard), in the PHC string form
//   $scrypt$ln=15,r=8,p=1$<salt, base64>$<hash, base64>
// The cost is part of each hash, so it can be raised later without invalidating old ones.
// ln=15 (32 MiB, ~50-100 ms here) keeps a brute-force attempt expensive while an MTA pod
// still verifies a few logins per second per core.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  ln: number;
  r: number;
  p: number;
}

export const defaultCost: ScryptCost = { ln: 15, r: 8, p: 1 };
const keyLength = 32;

function scryptOptions(cost: ScryptCost) {
  const N = 2 ** cost.ln;
  return { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Buffer {
  return scryptSync(password.normalize('NFC'), salt, keyLength, scryptOptions(cost));
}

// The async form runs scrypt on libuv's thread pool: a login on the SMTP intake must not
// stop every other session for the ~50-100 ms one hash takes.
function deriveAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, scryptOptions(cost), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function encode(cost: ScryptCost, salt: Buffer, hash: Buffer): string {
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function hashPassword(password: string, cost: ScryptCost = defaultCost, salt: Buffer = randomBytes(16)): string {
  return encode(cost, salt, derive(password, salt, cost));
}

/** hashPassword off the event loop (libuv thread pool), for the operator hashing many at once. */
export async function hashPasswordAsync(password: string, cost: ScryptCost = defaultCost, salt: Buffer = randomBytes(16)): Promise<string> {
  return encode(cost, salt, await deriveAsync(password, salt, cost));
}

interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  expected: Buffer;
}

function parseHash(encoded: string): ParsedHash | null {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
  if (!match) return null;
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  // Refuse costs that would let a crafted hash exhaust memory or CPU.
  if (cost.ln < 10 || cost.ln > 20 || cost.r < 1 || cost.r > 16 || cost.p < 1 || cost.p > 4) return null;
  const expected = Buffer.from(match[5] as string, 'base64');
  if (expected.length !== keyLength) return null;
  return { cost, salt: Buffer.from(match[4] as string, 'base64'), expected };
}

/** Whether `password` matches `encoded`; false (never an exception) for malformed hashes. */
export function verifyPassword(encoded: string, password: string): boolean {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  return timingSafeEqual(derive(password, parsed.salt, parsed.cost), parsed.expected);
}

/** verifyPassword off the event loop (libuv thread pool); same answers. */
export async function verifyPasswordAsync(encoded: string, password: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  return timingSafeEqual(await deriveAsync(password, parsed.salt, parsed.cost), parsed.expected);
}
