// The retry schedule and the message lifetime (docs/architecture.md §2 contract 4), as pure functions.
//
// Defaults: retries after 5m, 10m, 20m, 40m, 1h, 2h, 4h, then every 4h; give up 5 days after
// the message was accepted. Postfix's backoff (300 s doubling to 4000 s, maximal_queue_lifetime
// 5d) is the anchor; the longer tail matches the contract. Each delay is perturbed by up to
// ±jitter (default 10%), as chasquid's nextDelay does, so that mail deferred together (a
// destination that went down, a restart) is not retried in one burst.
//
// Time is a parameter and randomness is injected: nothing here reads a clock.

export interface RetryPolicy {
  /** Delays after the 1st, 2nd, ... failed attempt, in ms; the last one repeats. */
  readonly delaysMs: readonly number[];
  /** Fraction (0..1) by which each delay may be shortened or lengthened at random. */
  readonly jitter: number;
  /** How long after acceptance a message may stay queued; then it bounces. */
  readonly lifetimeMs: number;
}

const minute = 60_000;
const hour = 60 * minute;

export const defaultRetryPolicy: RetryPolicy = {
  delaysMs: [5 * minute, 10 * minute, 20 * minute, 40 * minute, hour, 2 * hour, 4 * hour],
  jitter: 0.1,
  lifetimeMs: 5 * 24 * hour,
};

/** A validated policy; a bad value is a start-up error. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const p = { ...defaultRetryPolicy, ...overrides };
  const problems: string[] = [];
  if (p.delaysMs.length === 0) problems.push('the retry schedule needs at least one delay');
  if (p.delaysMs.some((d) => !Number.isFinite(d) || d <= 0)) problems.push('retry delays must be positive');
  if (!(p.jitter >= 0 && p.jitter < 1)) problems.push('jitter must be in [0, 1)');
  if (!Number.isFinite(p.lifetimeMs) || p.lifetimeMs <= 0) problems.push('lifetime must be positive');
  if (problems.length > 0) throw new Error(`invalid retry policy: ${problems.join('; ')}`);
  return { delaysMs: [...p.delaysMs], jitter: p.jitter, lifetimeMs: p.lifetimeMs };
}

/** Parses "5m,10m,1h" / "30s" / "5d" style durations (as the docs write them) into ms. */
export function parseDurationMs(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 5m, 4h, 5d)`);
  const unit = { ms: 1, s: 1000, m: minute, h: hour, d: 24 * hour }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/** Parses a comma-separated schedule such as "5m,10m,20m,40m,1h,2h,4h". */
export function parseSchedule(text: string): number[] {
  return text.split(',').map((part) => parseDurationMs(part));
}

/** A duration as parseDurationMs reads it, in the largest unit that keeps it whole: 300000 → "5m". */
export function formatDuration(ms: number): string {
  const units = [
    ['d', 24 * hour],
    ['h', hour],
    ['m', minute],
    ['s', 1000],
  ] as const;
  const unit = units.find(([, size]) => ms >= size && ms % size === 0);
  return unit ? `${ms / unit[1]}${unit[0]}` : `${ms}ms`;
}

/** A schedule as parseSchedule reads it. */
export function formatSchedule(delaysMs: readonly number[]): string {
  return delaysMs.map(formatDuration).join(',');
}

/**
 * The delay before the next attempt, after `failedAttempts` (≥ 1) attempts have failed.
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number): number {
  const index = Math.min(Math.max(failedAttempts, 1), policy.delaysMs.length) - 1;
  const base = policy.delaysMs[index]!;
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(1, Math.round(base * factor));
}

/** When a message accepted at `receivedAtMs` expires. */
export function expiresAtMs(policy: RetryPolicy, receivedAtMs: number): number {
  return receivedAtMs + policy.lifetimeMs;
}

/**
 * When to try again, or null when the message has outlived its lifetime and must bounce.
 * The next attempt never lies beyond the expiry: the last attempt happens at the expiry,
 * so a destination that recovers in the final interval still gets the mail.
 */
export function nextAttemptAtMs(policy: RetryPolicy, receivedAtMs: number, failedAttempts: number, nowMs: number, random: () => number): number | null {
  const expires = expiresAtMs(policy, receivedAtMs);
  if (nowMs >= expires) return null;
  return Math.min(nowMs + retryDelayMs(policy, failedAttempts, random), expires);
}
