// The TLS-RPT counts of every MTA pod, in one JetStream key-value bucket: each pod counts its
// sessions in memory and adds them to the shared counts every `flushEveryMs` (and when it
// stops), with a compare-and-set on the entry's revision, so two pods flushing at once never
// lose each other's counts. A day's report is then the sum over all pods.
//
// Bucket `stafette_tls_rpt`:
//   day.<YYYY-MM-DD>.<policy domain>   DomainCounters (report.ts) as JSON
//   sent.<YYYY-MM-DD>.<policy domain>  created by the pod that mails that report (a claim:
//                                      create() fails for every other pod)
// Entries expire after `keepDays` (bucket TTL), so nothing needs to be deleted.
import type { KV } from '@nats-io/kv';
import { countSession, mergeCounters, utcDay, type DomainCounters, type SessionResult } from './report.ts';

export const tlsReportBucket = 'stafette_tls_rpt';

export type ReportKv = Pick<KV, 'get' | 'create' | 'update' | 'keys'>;

export interface TlsReportRecorder {
  /** Counts one session now (in memory until the next flush). */
  record(session: SessionResult): void;
  /** Adds the counts held in memory to the shared ones. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  stop(): Promise<void>;
}

export interface RecorderOptions {
  readonly kv: ReportKv;
  readonly now?: () => number;
  /** Default 30 s; 0: only on flush()/stop() (tests). */
  readonly flushEveryMs?: number;
  readonly onError?: (err: unknown) => void;
}

export async function openTlsReportBucket(kvm: { create(name: string, opts?: object): Promise<KV> }, replicas: number, keepDays = 8): Promise<KV> {
  return await kvm.create(tlsReportBucket, { history: 1, replicas, ttl: keepDays * 86_400_000 });
}

export function createTlsReportRecorder(options: RecorderOptions): TlsReportRecorder {
  const now = options.now ?? Date.now;
  let pending = new Map<string, DomainCounters>(); // "<day>.<domain>" → counts not yet flushed
  let flushing: Promise<void> = Promise.resolve();
  const every = options.flushEveryMs ?? 30_000;
  const timer = every > 0 ? setInterval(() => void flush().catch((err: unknown) => options.onError?.(err)), every) : null;
  timer?.unref();

  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      const batch = pending;
      pending = new Map();
      for (const [key, counts] of batch) {
        try {
          await addCounts(options.kv, `day.${key}`, counts);
        } catch (err) {
          // Keep what could not be written for the next flush.
          pending.set(key, mergeCounters(pending.get(key), counts));
          throw err;
        }
      }
    });
    return flushing;
  }

  return {
    record(session) {
      const key = `${utcDay(now())}.${keyOf(session.policyDomain)}`;
      pending.set(key, countSession(pending.get(key), session));
    },
    flush,
    async stop() {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}

/** Every domain's counts for a day. */
export async function readDay(kv: ReportKv, day: string): Promise<Map<string, DomainCounters>> {
  const out = new Map<string, DomainCounters>();
  const keys: string[] = [];
  for await (const k of await kv.keys(`day.${day}.>`)) keys.push(k);
  for (const key of keys.sort()) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') continue;
    out.set(key.slice(`day.${day}.`.length), JSON.parse(entry.string()) as DomainCounters);
  }
  return out;
}

/** True for exactly one caller per (day, domain): the pod that sends that report. */
export async function claimReport(kv: ReportKv, day: string, domain: string, by: string): Promise<boolean> {
  try {
    await kv.create(`sent.${day}.${keyOf(domain)}`, JSON.stringify({ by, at: new Date().toISOString() }));
    return true;
  } catch {
    return false;
  }
}

async function addCounts(kv: ReportKv, key: string, counts: DomainCounters): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') {
      try {
        await kv.create(key, JSON.stringify(counts));
        return;
      } catch {
        continue; // another pod created it first: merge into theirs
      }
    }
    const merged = mergeCounters(JSON.parse(entry.string()) as DomainCounters, counts);
    try {
      await kv.update(key, JSON.stringify(merged), entry.revision);
      return;
    } catch {
      // the entry changed under us: read again
    }
  }
  throw new Error(`TLS-RPT counts for ${key}: too many concurrent updates`);
}

function keyOf(domain: string): string {
  return domain
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/[^a-z0-9.-]/g, '_');
}
