// The inbound checks of one MX message as the session runs them (mta/src/sender-auth/ does the
// checking): started when DATA begins, fed the normalised DATA stream as a tee (readMessage's
// tap), while the copy we store passes through the filter that removes Authentication-Results
// fields claiming our authserv-ids; asked for the verdict at the end of DATA, before the final
// reply. Submission and other authenticated mail is not checked: it is ours to vouch for.
//
// The authserv-id is the receiving domain's hostname: that of the first recipient's domain
// (every domain's hostname counts as ours when removing forged fields), else our own name.
import type { IntakeConfig } from './session-handlers.ts';
import type { BundleDomain } from '../../../bundle/schema.ts';
import { normalizeAddress } from '../../../bundle/address.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { CachingResolver } from '../dns/dns-cache.ts';
import { directoryOf } from '../directory.ts';
import { AuthResultsFilter } from '../sender-auth/auth-results-filter.ts';
import { startInboundCheck, type InboundCheck } from '../sender-auth/inbound-check.ts';
import type { AuthVerdicts } from '../sender-auth/verify-message.ts';
import type { MessageTap } from './data-intake.ts';
import type { SenderAuthResults } from '../queue/index.ts';

export interface InboundChecksOptions {
  /** The process's DNS cache (mta/src/dns/). */
  readonly cache: Pick<CachingResolver, 'resolve'>;
  /** DNS time one message may use (default 10 s, dns/lookup-budget.ts). */
  readonly budgetMs?: number;
  readonly observer?: InboundCheckObserver;
}

export interface InboundCheckObserver {
  /** One call per method and result of a checked message (dkim: once per signature, or none). */
  verdict(method: 'spf' | 'dkim' | 'arc' | 'dmarc', result: string): void;
  /** How long the checks took after the end of DATA was seen, and whether the DNS budget ran out. */
  checked(seconds: number, budgetExhausted: boolean): void;
}

export interface MessageChecks {
  readonly tap: MessageTap;
  /** The client left or the message was refused for its size or shape: stop the checks. */
  abort(): void;
  /**
   * The verdict: header fields to add (Authentication-Results first) and the SPF/DMARC results
   * the queue record keeps (null when the checks failed), or a thrown SmtpError.
   */
  finish(): Promise<{ readonly headerFields: string; readonly senderAuth: SenderAuthResults | null }>;
}

export interface MessageChecksInput {
  readonly config: IntakeConfig;
  readonly ip: string;
  readonly helo: string;
  readonly mailFrom: string;
  /** The accepted recipients' domains (null: relayed, none on MX). */
  readonly domains: readonly (BundleDomain | null)[];
  /** Our own name (the listener's EHLO name). */
  readonly hostname: string;
  readonly log: Logger;
}

export function startMessageChecks(options: InboundChecksOptions, m: MessageChecksInput): MessageChecks {
  const ours = m.domains.filter((d): d is BundleDomain => d !== null);
  const authservId = ours[0]?.hostname ?? m.hostname;
  const filter = new AuthResultsFilter([m.hostname, ...m.config.bundle.domains.map((d) => d.hostname)]);
  const check: InboundCheck = startInboundCheck(
    { ip: m.ip, helo: m.helo, mailFrom: m.mailFrom, authservId },
    { cache: options.cache, ...(options.budgetMs !== undefined ? { budgetMs: options.budgetMs } : {}) },
  );
  return {
    tap: {
      write: (chunk) => check.write(chunk),
      drained: () => check.drained(),
      store: (chunk) => filter.push(chunk),
      endStore: () => filter.end(),
    },
    abort: () => check.abort(),
    async finish() {
      const started = performance.now();
      check.end();
      const dir = directoryOf(m.config.bundle);
      const outcome = await check.outcome({
        modes: ours.map((d) => d.inbound.dmarc),
        isOurDomain: (d) => dir.domain(d) !== undefined,
        mailFromDomain: normalizeAddress(m.mailFrom)?.domain ?? null,
      });
      options.observer?.checked((performance.now() - started) / 1000, outcome.dnsBudgetExhausted);
      if (outcome.verdicts) count(options.observer, outcome.verdicts);
      m.log.info('inbound checks', {
        authservId,
        ...(outcome.verdicts ? summary(outcome.verdicts) : { error: 'checks failed' }),
        action: outcome.action.kind === 'accept' ? (outcome.action.quarantine ? 'quarantine' : 'accept') : outcome.action.error.rule,
        forgedResultsRemoved: filter.removed,
        dnsLookups: outcome.lookups,
        dnsBudgetExhausted: outcome.dnsBudgetExhausted,
        ms: outcome.ms,
      });
      if (outcome.action.kind === 'refuse') throw outcome.action.error;
      const v = outcome.verdicts;
      return { headerFields: outcome.headerFields, senderAuth: v ? { spf: v.spf.result, dmarc: v.dmarc?.result ?? null } : null };
    },
  };
}

function count(observer: InboundCheckObserver | undefined, v: AuthVerdicts): void {
  if (!observer) return;
  observer.verdict('spf', v.spf.result);
  if (v.dkim.signatures.length === 0) observer.verdict('dkim', 'none');
  for (const s of v.dkim.signatures) observer.verdict('dkim', s.result);
  observer.verdict('arc', v.arc.result);
  observer.verdict('dmarc', v.dmarc?.result ?? 'none');
}

function summary(v: AuthVerdicts): Record<string, unknown> {
  return {
    spf: `${v.spf.result} ${v.spf.domain ?? ''}`.trim(),
    dkim: v.dkim.signatures.map((s) => `${s.result} ${s.domain ?? '?'}/${s.selector ?? '?'}`),
    arc: v.arc.result,
    dmarc: v.dmarc ? `${v.dmarc.result} ${v.dmarc.fromDomain} p=${v.dmarc.policy ?? '-'}` : `n/a (${v.dmarcSkipped ?? 'no From'})`,
  };
}
