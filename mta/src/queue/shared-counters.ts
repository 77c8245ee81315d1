// Fixed-window counters in one JetStream KV bucket, shared by every MTA pod (the limits of
// policy/shared-limits.ts). One key per counter and window: `<kind>.<subject>.<window number>`,
// the subject base64url-encoded (KV keys allow letters, digits, - _ = . /). An increment is a
// compare-and-set: create() when the key is new, update() at the revision read otherwise,
// retried on a conflict after a short random pause, so pods adding at once all count (40
// concurrent adds from two connections: test/abuse/shared-counters.test.ts). Within one pod,
// adds to a key that arrive while its write is in flight are summed into the next write. Old windows are never
// deleted by us: the bucket's TTL (the longest window plus a minute) expires them.
// Why fixed windows: one key read and one write per event, and exactly the same count
// whichever pod asks; a client can at most double the rate at a window boundary.
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';

export const limitsBucket = 'stafette-limits';

/** Subjects up to this many bytes appear in their key (base64url); longer ones by their digest. */
export const maxPlainSubjectBytes = 96;

/**
 * A subject as one KV key token: base64url when short (readable with `nats kv ls`), else `=`
 * and its SHA-256 in base64url (`=` never occurs in base64url, so the two cannot meet). Keys
 * stay short whatever a client sends: a key past nats-server's 4 KiB control line closed the
 * MTA's connection (docs/reliability.md §1).
 */
export function subjectToken(subject: string): string {
  const bytes = Buffer.from(subject);
  if (bytes.length > maxPlainSubjectBytes) return `=${createHash('sha256').update(bytes).digest('base64url')}`;
  return bytes.toString('base64url') || '_';
}

export interface WindowCounters {
  /** The count of `kind/subject` in the current window of `windowMs`. */
  get(kind: string, subject: string, windowMs: number): Promise<number>;
  /** Adds `n` and returns the new count of the current window. */
  add(kind: string, subject: string, windowMs: number, n?: number): Promise<number>;
}

interface Waiter {
  readonly n: number;
  resolve(count: number): void;
  reject(err: unknown): void;
}

export function createKvCounters(kv: Pick<KV, 'get' | 'create' | 'update'>, now: () => number = Date.now): WindowCounters {
  const keyOf = (kind: string, subject: string, windowMs: number) => `${kind}.${subjectToken(subject)}.${Math.floor(now() / windowMs)}`;
  const read = async (key: string): Promise<{ value: number; revision: number } | null> => {
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    const value = Number(e.string());
    return { value: Number.isFinite(value) ? value : 0, revision: e.revision };
  };
  // What this process last wrote per key: the next add tries an update at that revision
  // without reading first (a conflict means another pod wrote; then it reads). A hint only.
  const lastWritten = new Map<string, { value: number; revision: number }>();
  // Adds to one key while a write of it is in flight wait and go together in the next write:
  // one compare-and-set for a burst of sessions from one client instead of one each, racing
  // (issue 15: 20 sessions from one address spent their time in conflict retries).
  const queued = new Map<string, Waiter[]>();
  const writing = new Set<string>();

  const write = async (key: string, n: number): Promise<number> => {
    let current = lastWritten.get(key) ?? null;
    let fresh = current === null;
    for (let attempt = 0; attempt < 50; attempt++) {
      // After a conflict, wait a random few ms (growing) so racing pods do not collide again.
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
      if (!fresh) current = await read(key);
      fresh = false;
      try {
        const value = (current?.value ?? 0) + n;
        const revision = !current ? await kv.create(key, String(n)) : await kv.update(key, String(value), current.revision);
        if (lastWritten.size >= 10_000) lastWritten.clear(); // old windows' keys; the bucket TTL expires them
        lastWritten.set(key, { value, revision });
        return value;
      } catch (err) {
        // A wrong-last-sequence conflict: another pod counted first; read again.
        if (!/wrong last sequence|exists/i.test(String((err as Error).message))) throw err;
        lastWritten.delete(key);
      }
    }
    throw new Error(`counter ${key}: too many concurrent updates`);
  };

  const drain = async (key: string) => {
    writing.add(key);
    try {
      for (let batch = queued.get(key); batch; batch = queued.get(key)) {
        queued.delete(key);
        const total = batch.reduce((sum, w) => sum + w.n, 0);
        try {
          // Each waiter gets the count as if it had been added alone, in arrival order.
          let count = (await write(key, total)) - total;
          for (const w of batch) w.resolve((count += w.n));
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      writing.delete(key);
    }
  };

  return {
    async get(kind, subject, windowMs) {
      return (await read(keyOf(kind, subject, windowMs)))?.value ?? 0;
    },
    add(kind, subject, windowMs, n = 1) {
      const key = keyOf(kind, subject, windowMs);
      return new Promise<number>((resolve, reject) => {
        const batch = queued.get(key);
        if (batch) batch.push({ n, resolve, reject });
        else queued.set(key, [{ n, resolve, reject }]);
        if (!writing.has(key)) void drain(key);
      });
    },
  };
}

/** Opens (creating if needed) the limits bucket; entries expire after `ttlMs`. */
export async function openLimitsBucket(kvm: { create(name: string, opts?: object): Promise<KV> }, replicas: number, ttlMs: number): Promise<KV> {
  return await kvm.create(limitsBucket, { history: 1, replicas, ttl: ttlMs });
}
