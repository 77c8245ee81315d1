// The Sender Rewriting Scheme (SRS, Shevek 2004; the "Guarded" scheme of libsrs2, postsrsd
// and Mail::SRS): when we send a message on to another domain (a forward, an alias to a
// remote address) whose envelope sender is not ours, the next hop's SPF check would see our IP
// sending for the sender's domain and fail. So the envelope sender becomes an address of ours
// that encodes the original one, signed so that nobody can use our domain to send bounces to
// arbitrary addresses:
//
//   alice@sender.test              → SRS0=HHHH=TT=sender.test=alice@forwarder.example
//   SRS0=HHHH=TT=host=user@a.test  → SRS1=GGGG=a.test==HHHH=TT=host=user@forwarder.example
//   SRS1=GGGG=a.test==...@b.test   → SRS1=KKKK=a.test==...@forwarder.example (re-signed)
//
// HHHH: the first 4 characters of base64(HMAC-SHA1(key, lowercase(TT + host + user))); GGGG
// the same over (a.test, "=HHHH=TT=host=user"). TT: the day (Unix time / 86400, mod 1024) in
// two base32 characters. A bounce to an SRS0 address of ours is reversed to user@host when its
// hash verifies with one of our keys (rotation: the first key signs, every key listed verifies)
// and its day is at most `maxAgeDays` ago; an SRS1 address is reversed to the SRS0 address at
// the forwarder that made it. Anything else is refused: forged, expired, or not SRS.
//
// Compatible with pysrs and libsrs2 byte for byte (srs.test.ts has vectors made with pysrs;
// test/srs/ compares with it on random input). Case: remote MTAs may change the case of a
// local part (RFC 5321 says they must not), so the day is read case-insensitively and a hash
// that matches only when case is ignored is accepted too (as libsrs2 does).
import { createHmac } from 'node:crypto';

export interface SrsOptions {
  /** Secrets; the first signs, all verify (a rotated-out key stays listed for its grace). */
  readonly keys: readonly string[];
  /** Days an SRS0 address stays valid (libsrs2's default: 21). */
  readonly maxAgeDays?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export type SrsReverseResult =
  { readonly ok: true; readonly address: string } | { readonly ok: false; readonly reason: 'not-srs' | 'malformed' | 'bad-hash' | 'expired' };

export const defaultSrsMaxAgeDays = 21;

const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const hashLength = 4;
const daySeconds = 86_400;
const daySlots = 1024;
const srs0 = /^SRS0[-+=]/i;
const srs1 = /^SRS1[-+=]/i;

/** Whether a local part is an SRS address (SRS0 or SRS1), whoever made it. */
export function isSrsLocalPart(local: string): boolean {
  return srs0.test(local) || srs1.test(local);
}

/**
 * The envelope sender to use when forwarding mail from `sender` through `forwarderDomain`.
 * The null sender stays null; a sender of the forwarder's own domain is kept.
 */
export function srsForward(sender: string, forwarderDomain: string, options: SrsOptions): string {
  if (sender === '') return '';
  const key = options.keys[0];
  if (!key) throw new Error('SRS needs at least one key');
  const at = sender.lastIndexOf('@');
  if (at <= 0) throw new Error(`not an address: ${JSON.stringify(sender)}`);
  const user = sender.slice(0, at);
  const host = sender.slice(at + 1);
  if (host.toLowerCase() === forwarderDomain.toLowerCase()) return sender;

  if (srs1.test(user)) {
    // SRS1=hash=srshost=srsuser: keep the original forwarder and its SRS0 part, sign anew.
    const [, srsHost, srsUser] = splitN(user.slice(5), 3);
    if (srsHost === undefined || srsUser === undefined) throw new Error(`malformed SRS1 address ${JSON.stringify(sender)}`);
    return `SRS1=${hash(key, srsHost, srsUser)}=${srsHost}=${srsUser}@${forwarderDomain}`;
  }
  if (srs0.test(user)) {
    // Someone else's SRS0: wrap it (its separator stays, hence "==" in SRS1 addresses).
    const srsUser = user.slice(4);
    return `SRS1=${hash(key, host, srsUser)}=${host}=${srsUser}@${forwarderDomain}`;
  }
  const stamp = timestamp(nowSeconds(options));
  return `SRS0=${hash(key, stamp, host, user)}=${stamp}=${host}=${user}@${forwarderDomain}`;
}

/** Reverses the local part of an SRS address of ours (what follows "@" is ours, not checked here). */
export function srsReverse(local: string, options: SrsOptions): SrsReverseResult {
  if (srs1.test(local)) {
    const [h, srsHost, srsUser] = splitN(local.slice(5), 3);
    if (!h || !srsHost || srsUser === undefined || srsUser === '') return { ok: false, reason: 'malformed' };
    if (!verifies(h, options.keys, srsHost, srsUser)) return { ok: false, reason: 'bad-hash' };
    return { ok: true, address: `SRS0${srsUser}@${srsHost}` };
  }
  if (!srs0.test(local)) return { ok: false, reason: 'not-srs' };
  const [h, stamp, host, user] = splitN(local.slice(5), 4);
  if (!h || !stamp || !host || !user) return { ok: false, reason: 'malformed' };
  if (!verifies(h, options.keys, stamp, host, user)) return { ok: false, reason: 'bad-hash' };
  if (!fresh(stamp, nowSeconds(options), options.maxAgeDays ?? defaultSrsMaxAgeDays)) return { ok: false, reason: 'expired' };
  return { ok: true, address: `${user}@${host}` };
}

function nowSeconds(options: SrsOptions): number {
  return Math.floor((options.now ?? Date.now)() / 1000);
}

/** The day stamp: two base32 characters of (days since the epoch) mod 1024. */
export function timestamp(unixSeconds: number): string {
  const day = Math.floor(unixSeconds / daySeconds) % daySlots;
  return base32[(day >> 5) & 31]! + base32[day & 31]!;
}

function fresh(stamp: string, unixSeconds: number, maxAgeDays: number): boolean {
  if (!/^[A-Z2-7]{2}$/i.test(stamp)) return false;
  const upper = stamp.toUpperCase();
  const then = base32.indexOf(upper[0]!) * 32 + base32.indexOf(upper[1]!);
  let today = Math.floor(unixSeconds / daySeconds) % daySlots;
  while (today < then) today += daySlots;
  return today <= then + maxAgeDays;
}

function hash(key: string, ...data: string[]): string {
  const mac = createHmac('sha1', Buffer.from(key, 'utf8'));
  for (const d of data) mac.update(Buffer.from(d.toLowerCase(), 'utf8'));
  return mac.digest('base64').slice(0, hashLength);
}

function verifies(given: string, keys: readonly string[], ...data: string[]): boolean {
  if (given.length < hashLength) return false;
  const expected = keys.map((k) => hash(k, ...data));
  return expected.includes(given) || expected.some((e) => e.toLowerCase() === given.toLowerCase());
}

// Splits on "=" into at most n parts; the last keeps the rest (user parts may contain "=").
function splitN(text: string, n: number): (string | undefined)[] {
  const out: string[] = [];
  let rest = text;
  while (out.length < n - 1) {
    const i = rest.indexOf('=');
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}
