// The ramp half of `npm run bench:limits`: an open-loop load (new sessions started at a fixed
// rate, whether or not earlier ones have finished, as independent senders on the Internet do),
// one SMTP session per message, stepping the offered rate up until intake refuses (4xx) a
// share of the sessions, or the steps run out. Per step: offered, accepted (250 after DATA),
// refused with 4xx (at connect, MAIL, RCPT or DATA), other failures, delivered (the sink's
// counter over the step), and the MTA's peak RSS. After the last step every accepted message
// must reach the sink (bounded wait): past the knee nothing accepted may be lost.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssBytes } from './proc-stats.ts';
import { benchMessage } from './smtp-load.ts';
import { sendInOneSession, type SessionTarget } from './smtp-session.ts';

export interface RampStep {
  readonly offeredPerSecond: number;
  readonly seconds: number;
  readonly offered: number;
  readonly accepted: number;
  readonly refused4xx: number;
  readonly otherFailures: number;
  readonly firstOther: string | null;
  readonly delivered: number;
  readonly peakRss: number;
  /** Sessions still in flight when the step's time was up (they finish within the next steps). */
  readonly inFlightAtEnd: number;
}

export interface RampResult {
  readonly steps: RampStep[];
  readonly acceptedTotal: number;
  readonly deliveredTotal: number;
  /** Seconds after the last step until the sink had every accepted message (null: not within the limit). */
  readonly drainSeconds: number | null;
}

export interface RampOptions {
  readonly target: SessionTarget;
  readonly size: number;
  readonly rates: readonly number[];
  readonly stepSeconds: number;
  readonly mtaPid: number;
  /** The sink's running count. */
  delivered(): number;
  /** Stop after the first step where this share of sessions got 4xx. */
  readonly kneeShare: number;
  readonly drainTimeoutMs: number;
  /** Session timeout; a session past it counts as another failure. */
  readonly sessionTimeoutMs: number;
}

const refusal = /got "4\d\d/;

export async function runRamp(opts: RampOptions): Promise<RampResult> {
  const message = benchMessage(opts.size, opts.target.from, opts.target.to);
  const steps: RampStep[] = [];
  const pending = new Set<Promise<void>>();
  let acceptedTotal = 0;
  const deliveredAtStart = opts.delivered();
  for (const rate of opts.rates) {
    const counts = { accepted: 0, refused4xx: 0, other: 0, firstOther: null as string | null };
    const session = async () => {
      try {
        await sendInOneSession(opts.target, message, opts.sessionTimeoutMs, false);
        counts.accepted++;
        acceptedTotal++;
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        if (refusal.test(text)) counts.refused4xx++;
        else {
          counts.other++;
          counts.firstOther ??= text;
        }
      }
    };
    const deliveredBefore = opts.delivered();
    let peakRss = rssBytes([opts.mtaPid]);
    const started = performance.now();
    const end = started + opts.stepSeconds * 1000;
    let launched = 0;
    let lastRss = started;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      for (; launched < due; launched++) {
        const p = session().finally(() => pending.delete(p));
        pending.add(p);
      }
      if (performance.now() - lastRss > 200) {
        peakRss = Math.max(peakRss, rssBytes([opts.mtaPid]));
        lastRss = performance.now();
      }
      await sleep(5);
    }
    const inFlightAtEnd = pending.size;
    // The step's sessions finish before the next step starts, so each row counts its own.
    await Promise.all([...pending]);
    peakRss = Math.max(peakRss, rssBytes([opts.mtaPid]));
    const seconds = (performance.now() - started) / 1000;
    const step: RampStep = {
      offeredPerSecond: rate,
      seconds,
      offered: launched,
      accepted: counts.accepted,
      refused4xx: counts.refused4xx,
      otherFailures: counts.other,
      firstOther: counts.firstOther,
      delivered: opts.delivered() - deliveredBefore,
      peakRss,
      inFlightAtEnd,
    };
    steps.push(step);
    console.error(
      `ramp ${rate}/s: offered ${launched}, accepted ${counts.accepted}, 4xx ${counts.refused4xx}, other ${counts.other}, delivered ${step.delivered} in ${seconds.toFixed(1)} s, MTA RSS ${(peakRss / 1048576).toFixed(0)} MiB`,
    );
    if (launched > 0 && counts.refused4xx / launched >= opts.kneeShare) break;
  }
  const drainStart = performance.now();
  let drainSeconds: number | null = null;
  while (performance.now() - drainStart < opts.drainTimeoutMs) {
    if (opts.delivered() - deliveredAtStart >= acceptedTotal) {
      drainSeconds = (performance.now() - drainStart) / 1000;
      break;
    }
    await sleep(50);
  }
  return { steps, acceptedTotal, deliveredTotal: opts.delivered() - deliveredAtStart, drainSeconds };
}
