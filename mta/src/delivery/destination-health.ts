// The dead-destination cache (Postfix qmgr's idea): after an attempt in which no server of a
// destination answered at all (every recipient transient, none with a Remote-MTA: refused,
// timed out, no route, DNS temporarily failing), the destination counts as down for a while,
// and jobs for it are deferred at once without another attempt. Without this, a destination
// that swallows connections (a black hole: every attempt waits for its deadline) would hold
// every worker of a pod for that long per job, and fresh mail for healthy domains would wait
// behind it: head-of-line blocking inside the worker pool. A destination that answers,
// even with a 4xx or 5xx, is up: its replies decide per recipient.
//
// Per process, in memory: each pod learns on its own after one attempt. Pure apart from the
// map it keeps; time is passed in.
import { C, SE } from '../codes.ts';
import { reply } from '../reply.ts';
import type { RecipientOutcome } from './attempt.ts';

export interface DestinationHealth {
  /** Why and until when a destination is considered down, or null when it may be tried. */
  down(key: string, nowMs: number): { readonly untilMs: number; readonly reason: string } | null;
  /** Learns from one attempt's outcomes. */
  report(key: string, outcomes: readonly RecipientOutcome[], nowMs: number): void;
}

/** True when no server of the destination answered in this attempt. */
export function unreachable(outcomes: readonly RecipientOutcome[]): boolean {
  return outcomes.length > 0 && outcomes.every((o) => o.status === 'transient' && !o.remoteMta);
}

export function createDestinationHealth(opts: { downForMs: number; maxEntries?: number }): DestinationHealth {
  const entries = new Map<string, { untilMs: number; reason: string }>();
  const maxEntries = opts.maxEntries ?? 10_000;
  return {
    down(key, nowMs) {
      const entry = entries.get(key);
      if (!entry) return null;
      if (entry.untilMs <= nowMs) {
        entries.delete(key);
        return null;
      }
      return entry;
    },
    report(key, outcomes, nowMs) {
      if (opts.downForMs <= 0) return;
      if (unreachable(outcomes)) {
        if (entries.size >= maxEntries && !entries.has(key)) entries.delete(entries.keys().next().value!);
        entries.set(key, { untilMs: nowMs + opts.downForMs, reason: outcomes[0]!.reason });
      } else {
        entries.delete(key);
      }
    },
  };
}

/** What a recipient gets when its destination is skipped as down. */
export function skippedOutcome(recipient: string, reason: string): RecipientOutcome {
  return {
    recipient,
    status: 'transient',
    reply: reply(C.C451LocalError, SE.NoAnswer1, 'Destination recently unreachable; not tried this time'),
    reason: `destination marked down after an attempt no server answered: ${reason}`,
  };
}
