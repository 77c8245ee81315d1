// Queue ids: 26 characters of Crockford base32, 48 bits of milliseconds then 80 random bits
// (the ULID layout). Why this shape:
//  - it is one NATS subject token (no '.', '*', '>' or spaces), so it can end the job subject
//    and name the body object without escaping;
//  - it sorts by acceptance time, which makes logs and `stafette queue list` readable;
//  - it is the Nats-Msg-Id of the job, so it must be unique per accepted message and stable
//    across publish retries of that message (create it once per DATA, never per attempt).
import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const queueIdPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A new queue id for a message accepted at `nowMs` (milliseconds since the epoch). */
export function newQueueId(nowMs: number, random: (size: number) => Uint8Array = randomBytes): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs >= 2 ** 48) throw new RangeError(`bad timestamp ${nowMs}`);
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // 80 random bits = 16 characters of 5 bits each, taken from 10 bytes.
  const bytes = random(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = alphabet[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** True when `id` has the exact queue-id shape, so it is safe inside a subject or object name. */
export function isQueueId(id: string): boolean {
  return queueIdPattern.test(id);
}

/** The acceptance time encoded in a queue id, in milliseconds since the epoch. */
export function queueIdTime(id: string): number {
  if (!isQueueId(id)) throw new RangeError(`not a queue id: ${JSON.stringify(id)}`);
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + alphabet.indexOf(c);
  return t;
}
