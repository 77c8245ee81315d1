// The duplicate window, measured per e2e scenario (issue 11): the time from a remote 250 to
// the ledger's PubAck, inside which a lost pod delivers twice (docs/reliability.md §8). Each
// Ready MTA pod counts it in stafette_delivery_ledger_window_seconds (a histogram,
// mta/src/ops/delivery-metrics.ts); the scenario reads every pod's /metrics before and after
// and reports what the pods observed in between:
// - a pod in both reads counts the difference (a smaller count means its process restarted:
//   the second read counts whole);
// - a pod that appeared during the scenario (a replacement, a rollout's new pod) counts whole;
// - a pod gone by the end (deleted, evicted, scaled away, rolled) took its metrics with it:
//   what it observed during the scenario is not in the figures, and the report names it.
import type { E2eInstall } from './install.ts';
import { readMetrics, readyMtaPods } from './mta-pods.ts';

const METRIC = 'stafette_delivery_ledger_window_seconds';

export interface LedgerWindow {
  readonly count: number;
  readonly sum: number;
  /** Cumulative bucket counts by upper bound in seconds (Infinity for +Inf), in ascending order. */
  readonly buckets: readonly (readonly [le: number, count: number])[];
}

/** Each Ready MTA pod's histogram by pod name, or why it could not be read. */
export type LedgerWindows = ReadonlyMap<string, LedgerWindow | string>;

const value = (v: string) => (v === '+Inf' ? Infinity : Number(v));

/** The histogram in a Prometheus text exposition, or undefined when the text has none. */
export function parseLedgerWindow(text: string): LedgerWindow | undefined {
  let count: number | undefined;
  let sum: number | undefined;
  const buckets: [number, number][] = [];
  for (const line of text.split('\n')) {
    const bucket = new RegExp(`^${METRIC}_bucket\\{le="([^"]+)"\\} (\\S+)`).exec(line);
    if (bucket) buckets.push([value(bucket[1]!), value(bucket[2]!)]);
    const total = new RegExp(`^${METRIC}_(sum|count) (\\S+)`).exec(line);
    if (total?.[1] === 'sum') sum = value(total[2]!);
    if (total?.[1] === 'count') count = value(total[2]!);
  }
  if (count === undefined || sum === undefined || buckets.length === 0) return undefined;
  return { count, sum, buckets: buckets.sort((a, b) => a[0] - b[0]) };
}

export async function readLedgerWindows(e2e: E2eInstall): Promise<LedgerWindows> {
  const pods = await readyMtaPods(e2e);
  const read = await Promise.all(
    pods.map(async (p): Promise<[string, LedgerWindow | string]> => {
      try {
        return [p.metadata.name, parseLedgerWindow(await readMetrics(p)) ?? `no ${METRIC} on /metrics`];
      } catch (err) {
        return [p.metadata.name, `/metrics unread: ${(err as Error).message}`];
      }
    }),
  );
  return new Map(read);
}

function minus(after: LedgerWindow, before: LedgerWindow): LedgerWindow {
  const prior = new Map(before.buckets);
  return { count: after.count - before.count, sum: after.sum - before.sum, buckets: after.buckets.map(([le, n]) => [le, n - (prior.get(le) ?? 0)] as const) };
}

function plus(a: LedgerWindow, b: LedgerWindow): LedgerWindow {
  const other = new Map(b.buckets);
  return { count: a.count + b.count, sum: a.sum + b.sum, buckets: a.buckets.map(([le, n]) => [le, n + (other.get(le) ?? 0)] as const) };
}

export interface ScenarioWindow {
  /** What the pods that were there at the end observed during the scenario, together. */
  readonly window: LedgerWindow | undefined;
  /** Pods read at the end: counted by difference, counted whole (new, or restarted), unread (with why). */
  readonly counted: readonly string[];
  readonly whole: readonly string[];
  readonly unread: readonly string[];
  /** Pods read at the start and gone at the end: their observations are lost with them. */
  readonly gone: readonly string[];
}

export function scenarioWindow(before: LedgerWindows, after: LedgerWindows): ScenarioWindow {
  let window: LedgerWindow | undefined;
  const counted: string[] = [];
  const whole: string[] = [];
  const unread: string[] = [];
  for (const [pod, end] of after) {
    if (typeof end === 'string') {
      unread.push(`${pod} (${end})`);
      continue;
    }
    const start = before.get(pod);
    let part = end;
    if (start !== undefined && typeof start !== 'string' && start.count <= end.count) {
      part = minus(end, start);
      counted.push(pod);
    } else {
      whole.push(pod);
    }
    window = window ? plus(window, part) : part;
  }
  const gone = [...before.keys()].filter((pod) => !after.has(pod));
  return { window, counted, whole, unread, gone };
}

/** The upper bound of the highest bucket that got an observation: every window was at most this long. */
export function largestBucket(w: LedgerWindow): number | undefined {
  let largest: number | undefined;
  let below = 0;
  for (const [le, n] of w.buckets) {
    if (n > below) largest = le;
    below = n;
  }
  return largest;
}

const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

/** One line for the log: `e2e <scenario> duplicate window: ...`. */
export function describeScenarioWindow(scenario: string, s: ScenarioWindow): string {
  const parts: string[] = [];
  const w = s.window;
  if (!w || w.count === 0) parts.push('no ledger writes observed');
  else {
    const top = largestBucket(w);
    const bound = top === undefined ? '?' : top === Infinity ? `> ${ms(w.buckets.at(-2)?.[0] ?? 0)}` : `<= ${ms(top)}`;
    parts.push(`${w.count} ledger writes, sum ${w.sum.toFixed(3)} s, mean ${ms(w.sum / w.count)}, largest non-empty bucket ${bound}`);
  }
  parts.push(
    `from ${s.counted.length + s.whole.length} Ready MTA pods (${s.counted.length} by difference, ${s.whole.length} new or restarted since the start, counted whole)`,
  );
  if (s.unread.length > 0) parts.push(`unread: ${s.unread.join(', ')}`);
  if (s.gone.length > 0) parts.push(`not counted, replaced during the scenario and their metrics with them: ${s.gone.join(', ')}`);
  return `e2e ${scenario} duplicate window: ${parts.join('; ')}`;
}
