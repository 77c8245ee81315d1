// Fixed-window counters in one JetStream KV bucket, shared by every MTA pod (the limits of
// policy/shared-limits.ts). One key per counter and window: `<kind>.<subject>.<window number>`,
// the subject base64url-encoded (KV keys allow letters, digits, - _ = . /). An increment is a
// compare-and-set: create() when the key is new, update() at the revision read otherwise,
// retried on a conflict after a short random pause, so pods adding at once all count (40
// concurrent adds from two connections: test/abuse/shared-counters.test.ts). Old windows are never
// deleted by us: the bucket's TTL (the longest window plus a minute) expires them.
// Why fixed windows: one key read and one write per event, and exactly the same count
// whichever pod asks; a client can at most double the rate at a window boundary.
import type { KV } from '@nats-io/kv';

export const limitsBucket = 'stafette-limits';

export interface WindowCounters {
  /** The count of `kind/subject` in the current window of `windowMs`. */
  get(kind: string, subject: string, windowMs: number): Promise<number>;
  /** Adds `n` and returns the new count of the current window. */
  add(kind: string, subject: string, windowMs: number, n?: number): Promise<number>;
}

export function createKvCounters(kv: Pick<KV, 'get' | 'create' | 'update'>, now: () => number = Date.now): WindowCounters {
  const keyOf = (kind: string, subject: string, windowMs: number) =>
    `${kind}.${Buffer.from(subject).toString('base64url') || '_'}.${Math.floor(now() / windowMs)}`;
  const read = async (key: string): Promise<{ value: number; revision: number } | null> => {
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    const value = Number(e.string());
    return { value: Number.isFinite(value) ? value : 0, revision: e.revision };
  };
  return {
    async get(kind, subject, windowMs) {
      return (await read(keyOf(kind, subject, windowMs)))?.value ?? 0;
    },
    async add(kind, subject, windowMs, n = 1) {
      const key = keyOf(kind, subject, windowMs);
      for (let attempt = 0; attempt < 50; attempt++) {
        // After a conflict, wait a random few ms (growing) so racing pods do not collide again.
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
        const current = await read(key);
        try {
          if (!current) await kv.create(key, String(n));
          else await kv.update(key, String(current.value + n), current.revision);
          return (current?.value ?? 0) + n;
        } catch (err) {
          // A wrong-last-sequence conflict: another pod counted first; read again.
          if (!/wrong last sequence|exists/i.test(String((err as Error).message))) throw err;
        }
      }
      throw new Error(`counter ${key}: too many concurrent updates`);
    },
  };
}

/** Opens (creating if needed) the limits bucket; entries expire after `ttlMs`. */
export async function openLimitsBucket(kvm: { create(name: string, opts?: object): Promise<KV> }, replicas: number, ttlMs: number): Promise<KV> {
  return await kvm.create(limitsBucket, { history: 1, replicas, ttl: ttlMs });
}
