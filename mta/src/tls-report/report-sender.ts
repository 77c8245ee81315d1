// Mails yesterday's TLS-RPT reports once the UTC day is over (RFC 8460 §4.1: one report per
// policy domain per 24-hour period). Every pod runs the loop; for each (day, domain) one pod
// wins the claim in the bucket (report-store.ts) and sends, so a fleet sends each report once.
// A domain whose `_smtp._tls` record has no mailto: destination (or none at all any more) is
// skipped and logged; nothing is retried past the day's claim (a report is information, not
// mail someone waits for, and the counts stay readable with `stafette tls-report`).
import type { Logger } from '../../../observability/logger.ts';
import { buildReportMail } from './report-mail.ts';
import { reportDestinations } from './report-policy.ts';
import { renderReport, utcDay, type ReportIdentity } from './report.ts';
import { claimReport, readDay, type ReportKv } from './report-store.ts';

export interface ReportSenderOptions {
  readonly kv: ReportKv;
  readonly resolver: (name: string, type: string) => Promise<unknown>;
  /** Queues a report as a new message (the queue publisher). */
  readonly send: (mail: { from: string; to: readonly string[]; body: Buffer; reportId: string }) => Promise<void>;
  /** Who we are, from the bundle in force; null while there is no domain to send from. */
  readonly identity: () => (ReportIdentity & { from: string }) | null;
  /** This pod's name, recorded with the claim. */
  readonly pod: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often the loop looks for a finished day (default 15 min). */
  readonly everyMs?: number;
  readonly observer?: (outcome: 'sent' | 'no_destination' | 'failed') => void;
}

export interface ReportSender {
  /** Sends what is due now (the loop calls it; tests call it directly). */
  runOnce(): Promise<number>;
  stop(): void;
}

export function startReportSender(options: ReportSenderOptions): ReportSender {
  const now = options.now ?? Date.now;
  let running: Promise<number> | null = null;

  async function sendDay(day: string): Promise<number> {
    const who = options.identity();
    if (!who) return 0;
    let sent = 0;
    for (const [domain, counters] of await readDay(options.kv, day)) {
      if (!(await claimReport(options.kv, day, domain, options.pod))) continue;
      const destinations = await reportDestinations(domain, options.resolver);
      if (!destinations || destinations.mailto.length === 0) {
        options.observer?.('no_destination');
        options.logger.info('TLS-RPT report not sent: no mailto: destination', { day, domain, https: destinations?.https ?? [] });
        continue;
      }
      const report = renderReport(day, domain, counters, who);
      try {
        const body = buildReportMail({
          day,
          policyDomain: domain,
          submitter: who.submitter,
          from: who.from,
          to: destinations.mailto,
          report,
          now: new Date(now()),
        });
        await options.send({ from: who.from, to: destinations.mailto, body, reportId: (report as { 'report-id': string })['report-id'] });
        options.observer?.('sent');
        sent++;
        options.logger.info('TLS-RPT report queued', { day, domain, to: destinations.mailto });
      } catch (err) {
        options.observer?.('failed');
        options.logger.warn('TLS-RPT report could not be queued', { day, domain, err });
      }
    }
    return sent;
  }

  const runOnce = () => {
    running ??= sendDay(utcDay(now() - 86_400_000)).finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(
    () => void runOnce().catch((err: unknown) => options.logger.warn('TLS-RPT report loop failed', { err })),
    options.everyMs ?? 15 * 60_000,
  );
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
