// What one session may cost, watched per connection (docs/reliability.md §1): a deadline from
// connect, a minimum data rate in DATA, and a budget of error replies. smtp-server's socket
// timeout only bounds the time between two bytes, so a client trickling one byte every 50 s
// (slowloris) would keep a session and its DATA buffer for ever; these bound the whole.
//
//   deadline     `deadlineMs` after connect: 421 4.4.2 and close, whatever the client is doing.
//   data rate    while the client is sending DATA (up to the final dot), each window of
//                `dataRateWindowMs` must bring `minDataRate` × window bytes; else 421 4.4.2.
//                The time we take to answer after the dot (queue, inbound checks) is not counted.
//   errors       the reply after `maxErrors` 4xx/5xx replies (ours and smtp-server's own) is
//                421 4.7.0 and the connection is closed (Postfix smtpd_hard_error_limit).
// Installed through smtp-server-overrides.ts; the rules' replies are in policy/rejections.ts.
import type { SmtpError } from '../errors.ts';
import { sessionTooSlow, tooManyErrors } from '../policy/rejections.ts';
import type { SessionLimits } from './listener-config.ts';

/** Option added to SMTPServerOptions: the listener's session limits and where a cut-off is reported. */
export interface SessionLimitsOption {
  sessionLimits?: SessionLimits & { onLimit?: (rule: string) => void };
}

/** What the watchdog needs from one SMTPConnection. */
export interface WatchedConnection {
  /** True once the connection is closing or closed. */
  closed(): boolean;
  /** Bytes of DATA received so far while the client is still sending it; null outside DATA. */
  dataBytes(): number | null;
  /** Sends the 421 (smtp-server closes the connection after a 421). */
  refuse(error: SmtpError): void;
}

export interface WatchdogTimers {
  now(): number;
  every(run: () => void, ms: number): () => void;
}

const realTimers: WatchdogTimers = {
  now: () => performance.now(),
  every(run, ms) {
    const t = setInterval(run, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

/** Starts watching a connection; stops by itself once it is closed. */
export function watchSession(conn: WatchedConnection, limits: SessionLimitsOption['sessionLimits'], timers: WatchdogTimers = realTimers): void {
  if (!limits) return;
  const started = timers.now();
  let window: { start: number; bytes: number } | null = null;
  const tickMs = Math.max(50, Math.min(1000, Math.floor(limits.dataRateWindowMs / 4), Math.floor(limits.deadlineMs / 4)));
  const cut = (error: SmtpError) => {
    stop();
    limits.onLimit?.(error.rule);
    conn.refuse(error);
  };
  const stop = timers.every(() => {
    if (conn.closed()) return stop();
    const now = timers.now();
    if (now - started >= limits.deadlineMs) return cut(sessionTooSlow('session_deadline', `session open for ${limits.deadlineMs} ms`));
    const bytes = conn.dataBytes();
    if (bytes === null || limits.minDataRate <= 0) {
      window = null;
      return;
    }
    if (!window) window = { start: now, bytes };
    else if (now - window.start >= limits.dataRateWindowMs) {
      const rate = ((bytes - window.bytes) * 1000) / (now - window.start);
      if (rate < limits.minDataRate) return cut(sessionTooSlow('data_too_slow', `DATA at ${Math.round(rate)} B/s, minimum ${limits.minDataRate} B/s`));
      window = { start: now, bytes };
    }
  }, tickMs);
}

/** Error replies per connection: the reply to send instead of the (maxErrors+1)th error, or null. */
export function errorBudget(limits: SessionLimitsOption['sessionLimits']): (code: number) => SmtpError | null {
  let errors = 0;
  return (code) => {
    if (!limits || code < 400 || code === 421) return null;
    errors++;
    if (errors <= limits.maxErrors) return null;
    limits.onLimit?.('too_many_errors');
    return tooManyErrors(limits.maxErrors);
  };
}
