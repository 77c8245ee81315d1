// The inbound checks of one message as the intake runs them: started when DATA begins, fed
// the normalised DATA stream chunk by chunk while the client sends (a tee, not a second copy
// of the message: mailauth hashes as it reads), ended with the message, and asked for the
// outcome before the final reply. The outcome is what intake needs: the action (accept, with
// or without the quarantine mark, or refuse with a 5xx/4xx), the header fields to add, and the
// verdicts for the log and the metrics.
//
//   const check = startInboundCheck({ ip, helo, mailFrom, authservId }, deps);
//   for each normalised chunk: if (!check.write(chunk)) await check.drained();
//   check.end();
//   const outcome = await check.outcome(ctx);      // ctx: recipient domains' inbound.dmarc
//
// A client that leaves mid-DATA: abort(); nothing is awaited. A failure inside the checks
// (a bug, not a verdict) is a 451 local error, logged: we do not guess a verdict.
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import type { CachingResolver } from '../dns/dns-cache.ts';
import { createLookupBudget, defaultLookupBudgetMs } from '../dns/lookup-budget.ts';
import { localError } from '../policy/rejections.ts';
import { renderAuthResults } from './auth-results.ts';
import { decideVerdict, renderQuarantineField, type VerdictAction, type VerdictContext } from './verdict-policy.ts';
import { verifyMessage, type AuthVerdicts } from './verify-message.ts';

export interface InboundSession {
  readonly ip: string;
  readonly helo: string;
  /** MAIL FROM as received; "" for the null sender. */
  readonly mailFrom: string;
  /** The receiving domain's hostname. */
  readonly authservId: string;
}

export interface InboundCheckDeps {
  readonly cache: Pick<CachingResolver, 'resolve'>;
  /** DNS time one message may use in total (default 10 s). */
  readonly budgetMs?: number;
  readonly now?: () => number;
  /** Bytes the checks may lag behind the client before the intake waits for them. */
  readonly highWaterMark?: number;
}

export interface InboundOutcome {
  readonly action: VerdictAction;
  /** Authentication-Results (and the quarantine mark), CRLF-terminated, to add after Received. */
  readonly headerFields: string;
  /** null when the checks themselves failed. */
  readonly verdicts: AuthVerdicts | null;
  readonly dnsBudgetExhausted: boolean;
  readonly lookups: number;
  readonly ms: number;
}

export interface InboundCheck {
  /** Feeds one chunk; false: wait for drained() before the next one. */
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
  /** The client left: stop reading, discard everything. */
  abort(): void;
  outcome(ctx: VerdictContext): Promise<InboundOutcome>;
}

export function startInboundCheck(session: InboundSession, deps: InboundCheckDeps): InboundCheck {
  const now = deps.now ?? Date.now;
  const started = now();
  const feed = new PassThrough({ highWaterMark: deps.highWaterMark ?? 256 * 1024 });
  const budget = createLookupBudget({ cache: deps.cache, budgetMs: deps.budgetMs ?? defaultLookupBudgetMs, now });
  const running = verifyMessage({
    message: feed,
    ip: session.ip,
    helo: session.helo,
    mailFrom: session.mailFrom,
    authservId: session.authservId,
    resolver: budget.resolver,
  });
  // Settled here so an aborted or failed check never surfaces as an unhandled rejection.
  const settled: Promise<{ ok: true; verdicts: AuthVerdicts } | { ok: false; err: unknown }> = running.then(
    (verdicts) => ({ ok: true as const, verdicts }),
    (err: unknown) => ({ ok: false as const, err }),
  );

  return {
    write: (chunk) => feed.write(chunk),
    drained: async () => {
      if (feed.writableNeedDrain) await once(feed, 'drain');
    },
    end: () => feed.end(),
    // mailauth rejects on an 'error' of its input (a bare destroy() would leave it waiting).
    abort: () => feed.destroy(new Error('the client left during DATA')),
    async outcome(ctx) {
      const done = await settled;
      const base = { dnsBudgetExhausted: budget.exhausted(), lookups: budget.lookups(), ms: now() - started };
      if (!done.ok) {
        return {
          ...base,
          verdicts: null,
          headerFields: '',
          action: { kind: 'refuse', error: localError(`inbound checks failed: ${(done.err as Error)?.message ?? done.err}`, done.err) },
        };
      }
      const action = decideVerdict(done.verdicts, ctx);
      let headerFields = renderAuthResults(session.authservId, done.verdicts.resinfo);
      if (action.kind === 'accept' && action.quarantine && done.verdicts.dmarc) headerFields += renderQuarantineField(done.verdicts.dmarc.fromDomain);
      return { ...base, verdicts: done.verdicts, headerFields, action };
    },
  };
}
