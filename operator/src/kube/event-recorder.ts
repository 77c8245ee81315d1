// Events as `kubectl describe` readers know them: the same event about the same object is one
// Event whose series grows ("Warning  DomainNotFound  2m (x14 over 1h)"), not a new object per
// reconcile. The rules are those of client-go's events.k8s.io/v1 broadcaster
// (k8s.io/client-go/tools/events), which controllers written in Go use:
//   - isomorphic events (same type, reason, action, reporting controller and instance,
//     regarding object) form one series; here the note is part of that identity too (as in
//     client-go's older core/v1 recorder), so a changed message is a new Event, not hidden;
//   - the first occurrence is created; the second patches series {count: 2} at once; later
//     ones are only counted, written every refreshMs (30 min) while they go on, and once more
//     when the series ends (finishMs, 6 min, without a repeat); after that the next
//     occurrence starts a new Event.
// So a resource that stays broken costs two writes and then one every half hour, however often
// it is reconciled. Bounded: at most maxSeries series are remembered (the least recently seen
// is forgotten first) and at most maxQueued writes wait (client-go: 1000); writes go out one
// at a time; an event beyond the queue is dropped and counted. A failed write is logged and
// never retried in a loop: the next occurrence tries again.
import type { EventInput } from './client.ts';

/** An events.k8s.io/v1 Event's series, as the API stores it. */
export interface EventSeries {
  count: number;
  lastObservedTime: Date;
}

/** The two writes the recorder makes (kube/client.ts implements them). */
export interface EventSink {
  /** Creates the Event (with a series when count ≥ 2); resolves to its name. */
  create(event: EventInput, eventTime: Date, series: EventSeries | null): Promise<string>;
  /** Patches the series of an existing Event; resolves false when the Event is gone (expired). */
  patchSeries(namespace: string, name: string, series: EventSeries): Promise<boolean>;
}

export interface EventRecorderOptions {
  sink: EventSink;
  now: () => Date;
  /** Called once per event: created, updated (series written), counted (folded), dropped, failed. */
  onOutcome?: (event: EventInput, outcome: EventOutcome) => void;
  onError?: (event: EventInput, error: unknown) => void;
  maxSeries?: number;
  maxQueued?: number;
  refreshMs?: number;
  finishMs?: number;
}

export type EventOutcome = 'created' | 'updated' | 'counted' | 'dropped' | 'failed';

interface Series {
  event: EventInput;
  firstTime: Date;
  count: number;
  lastObserved: Date;
  /** The Event's name once created; null while its creation is queued or failed. */
  name: string | null;
  /** The count last written to the API, and when. */
  writtenCount: number;
  writtenAt: Date;
  /** A write of this series is queued or running. */
  pending: boolean;
}

export const eventRecorderDefaults = { maxSeries: 4096, maxQueued: 1000, refreshMs: 30 * 60_000, finishMs: 6 * 60_000 } as const;

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly options: Required<Omit<EventRecorderOptions, 'onOutcome' | 'onError'>> & Pick<EventRecorderOptions, 'onOutcome' | 'onError'>;
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(options: EventRecorderOptions) {
    this.options = { ...eventRecorderDefaults, ...options };
  }

  /** Records one occurrence; returns at once (the write, if any, is queued). */
  record(event: EventInput): void {
    const now = this.options.now();
    const key = JSON.stringify([
      event.type,
      event.reason,
      event.action,
      event.note,
      event.regarding.apiVersion,
      event.regarding.kind,
      event.regarding.namespace,
      event.regarding.name,
      event.regarding.uid ?? '',
    ]);
    const known = this.series.get(key);
    if (!known) {
      const fresh: Series = { event, firstTime: now, count: 1, lastObserved: now, name: null, writtenCount: 0, writtenAt: now, pending: false };
      if (this.schedule(key, fresh)) this.remember(key, fresh);
      return;
    }
    known.count += 1;
    known.lastObserved = now;
    this.remember(key, known);
    // The second occurrence is written at once (kubectl shows "x2"); later ones wait for flush().
    if (known.count === 2 && !known.pending) this.schedule(key, known);
    else this.options.onOutcome?.(event, 'counted');
  }

  /** Writes series that are due (refreshed while they go on, finished when they stop); call every minute or so. */
  flush(): void {
    const now = this.options.now().getTime();
    for (const [key, s] of this.series) {
      const finished = now - s.lastObserved.getTime() >= this.options.finishMs;
      const stale = now - s.writtenAt.getTime() >= this.options.refreshMs;
      if (s.count > s.writtenCount && s.count > 1 && !s.pending && (finished || stale)) this.schedule(key, s);
      if (finished) this.series.delete(key);
    }
  }

  /** Resolves when every queued write is done. */
  async settled(): Promise<void> {
    await this.chain;
  }

  /** Series remembered (for tests and the metric). */
  size(): number {
    return this.series.size;
  }

  /** Keeps `s` as the most recently seen series, forgetting the least recently seen beyond maxSeries. */
  private remember(key: string, s: Series): void {
    this.series.delete(key);
    this.series.set(key, s);
    while (this.series.size > this.options.maxSeries) {
      const oldest = this.series.keys().next().value as string;
      this.series.delete(oldest);
    }
  }

  /** Queues the series' write (which carries its count as of when it runs); false when the queue is full. */
  private schedule(key: string, s: Series): boolean {
    if (this.queued >= this.options.maxQueued) {
      this.options.onOutcome?.(s.event, 'dropped');
      return false;
    }
    this.queued += 1;
    s.pending = true;
    this.chain = this.chain.then(async () => {
      let outcome: EventOutcome;
      try {
        outcome = await this.write(key, s);
      } catch (error) {
        outcome = 'failed';
        this.options.onError?.(s.event, error);
      } finally {
        this.queued -= 1;
        s.pending = false;
      }
      this.options.onOutcome?.(s.event, outcome);
    });
    return true;
  }

  /** Creates the series' Event, or patches its count; a gone Event is created again. */
  private async write(key: string, s: Series): Promise<EventOutcome> {
    const count = s.count;
    const series = count > 1 ? { count, lastObservedTime: s.lastObserved } : null;
    try {
      if (s.name !== null && series && (await this.options.sink.patchSeries(s.event.regarding.namespace, s.name, series))) {
        this.written(s, count);
        return 'updated';
      }
      s.name = await this.options.sink.create(s.event, s.firstTime, series);
      this.written(s, count);
      return 'created';
    } catch (error) {
      // Forgotten, so the next occurrence creates a fresh Event instead of patching nothing.
      if (this.series.get(key) === s && s.name === null) this.series.delete(key);
      throw error;
    }
  }

  private written(s: Series, count: number): void {
    s.writtenCount = Math.max(s.writtenCount, count);
    s.writtenAt = this.options.now();
  }
}
