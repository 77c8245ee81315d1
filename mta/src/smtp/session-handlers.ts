// The smtp-server hooks of one listener: each adapts smtp-server's callback to an async
// step, asks the pure policy for a verdict, and answers with the verdict's SmtpError or
// success. With session-auth.ts (AUTH) and session-data.ts (DATA), the only place where
// smtp-server's session object is read; session-context.ts holds what they share.
//
// Config: a session keeps the bundle it started with (getConfig() at connect), so a reload
// never changes the rules in the middle of a transaction; new sessions get the new bundle.
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { maxMessageSizeCap, type Bundle } from '../../../bundle/schema.ts';
import { isSmtpError, type SmtpError } from '../errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import { parseMailDsnParams, parseRcptDsnParams } from '../dsn/params.ts';
import { checkEsmtpParams } from '../policy/esmtp-params.ts';
import { checkDeclaredSize, checkRecipientCount, recipientLimitFor, sizeLimitFor } from '../policy/message-limits.ts';
import { checkRecipient } from '../policy/recipient-policy.ts';
import {
  clientBlocklisted,
  localError,
  memoryBudgetExceeded,
  serviceUnavailable,
  storeNearFull,
  tooManyConnections,
  tooManyFailedRecipients,
} from '../policy/rejections.ts';
import { checkMxSender, checkSubmissionSender } from '../policy/sender-policy.ts';
import { bytesPerDataByte } from './memory-budget.ts';
import { envelopeAddress } from './data-intake.ts';
import type { ListenerConfig } from './listener-config.ts';
import { clientKey } from '../policy/client-key.ts';
import { hourMs, minuteMs } from '../policy/shared-limits.ts';
import { createSharedChecks } from './shared-limit-checks.ts';
import { checkLoginStillValid } from '../policy/login-policy.ts';
import { createAuthHook } from './session-auth.ts';
import { userOf, type Done, type HandlerContext, type IntakeConfig, type SessionState } from './session-context.ts';
import { createDataHook } from './session-data.ts';

export type { Clock, HandlerContext, IntakeConfig } from './session-context.ts';

export function createSessionHandlers(ctx: HandlerContext) {
  const sessions = new Map<string, SessionState>();
  const name = ctx.listener.name;
  const { checkSharedAtConnect, checkAuthBlocked, recordAuthFailure, overShared } = createSharedChecks(ctx.shared ?? null, ctx.listener.role);

  function state(session: SMTPServerSession): SessionState {
    const s = sessions.get(session.id);
    if (!s) throw localError(`no state for session ${session.id}`);
    return s;
  }

  /** Runs one step; a thrown SmtpError becomes the reply, anything else a logged 451. */
  function step(verb: string, session: SMTPServerSession, done: Done, work: (s: SessionState) => Promise<void> | void): void {
    ctx.observer.command(name, verb);
    let s: SessionState | undefined;
    void (async () => {
      s = state(session);
      await work(s);
    })().then(
      () => done(),
      (err: unknown) => done(reject(verb, s?.log ?? ctx.logger, err)),
    );
  }

  function reject(verb: string, log: Logger, err: unknown): SmtpError {
    const error = isSmtpError(err) ? err : localError(`${verb} failed unexpectedly`, err);
    ctx.observer.rejected(name, error.rule);
    // Our own failures (not a policy verdict) are errors; a refused client is routine.
    if (isSmtpError(err)) log.info(`${verb} refused`, error.logFields());
    else log.error(`${verb} failed`, error.logFields());
    return error;
  }

  const kit = { ctx, name, state, reject };
  const onAuth = createAuthHook(kit, { checkAuthBlocked, recordAuthFailure });
  const onData = createDataHook(kit);

  return {
    onConnect(session: SMTPServerSession, done: Done): void {
      const ip = session.remoteAddress;
      const log = ctx.logger.child({ session: session.id, listener: name, client: ip });
      if (!ctx.connections.open(session.id, ip)) {
        done(reject('CONNECT', log, tooManyConnections(ip, ctx.listener.maxConnectionsPerIp)));
        return;
      }
      let config: IntakeConfig;
      try {
        config = ctx.getConfig();
      } catch (err) {
        ctx.connections.close(session.id);
        done(reject('CONNECT', log, serviceUnavailable('no configuration for a new session', err)));
        return;
      }
      // Started now so it overlaps the greeting delay; the answer is awaited at MAIL.
      const listing = ctx.dnsbl && ctx.listener.role === 'mx' ? ctx.dnsbl.check(ip).catch(() => null) : null;
      void checkSharedAtConnect(ip, log).then((refusal) => {
        if (refusal) {
          ctx.connections.close(session.id);
          done(reject('CONNECT', log, refusal));
          return;
        }
        sessions.set(session.id, { config, log, authFailures: 0, domains: [], declaredSize: null, listing, rcptCommands: 0, failedRcpts: 0, login: null });
        ctx.observer.sessionOpened(name);
        log.debug('session opened', { rdns: session.clientHostname || null });
        done();
      });
    },

    onClose(session: SMTPServerSession): void {
      ctx.connections.close(session.id);
      if (sessions.delete(session.id)) ctx.observer.sessionClosed(name);
    },

    onAuth,

    onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
      step('MAIL', session, done, async (s) => {
        s.domains = [];
        if (ctx.storeNearFull?.()) throw storeNearFull();
        s.rcptCommands = 0;
        if (s.login) checkLoginStillValid(ctx.getConfig(), s.login);
        await overShared(s.log, 'msg-ip', clientKey(session.remoteAddress), minuteMs, (l) => l.messagesPerIpPerMinute);
        if (s.login) await overShared(s.log, 'msg-user', s.login.user, hourMs, (l) => l.messagesPerUserPerHour);
        const listed = s.listing ? await s.listing : null;
        if (listed) throw clientBlocklisted(session.remoteAddress, listed.zone, listed.text);
        const badParam = checkEsmtpParams('MAIL', address.args);
        if (badParam) throw badParam;
        const dsn = parseMailDsnParams(envelopeAddress(address.address, address.args).params);
        if ('code' in dsn) throw dsn;
        s.declaredSize = declaredSize(address);
        const verdict =
          ctx.listener.role === 'submission' ? checkSubmissionSender(s.config.bundle, userOf(session), address.address) : checkMxSender(address.address);
        if (!verdict.accept) throw verdict.error;
        const tooBig = checkDeclaredSize(s.declaredSize, maxSizeOf(s.config.bundle, ctx.listener));
        if (tooBig) throw tooBig;
        if (s.declaredSize !== null && ctx.memoryBudget && !ctx.memoryBudget.fits(heldBytesFor(ctx, s.declaredSize, session) * bytesPerDataByte))
          throw memoryBudgetExceeded(`SIZE=${s.declaredSize} does not fit in the memory budget now`);
      });
    },

    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
      const counted: Done = (err) => {
        const s = sessions.get(session.id);
        const max = ctx.listener.session.maxFailedRecipients;
        if (err && s && ++s.failedRcpts > max) {
          done(reject('RCPT', s.log, tooManyFailedRecipients(max)));
          return;
        }
        done(err);
      };
      step('RCPT', session, counted, async (s) => {
        const badParam = checkEsmtpParams('RCPT', address.args);
        if (badParam) throw badParam;
        const dsn = parseRcptDsnParams(envelopeAddress(address.address, address.args).params);
        if ('code' in dsn) throw dsn;
        const mayRelay = ctx.listener.role === 'submission' && userOf(session) !== '';
        const srs = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          options: { keys: s.config.secrets.srsKeys ?? [], now: () => ctx.clock.now() },
        };
        const verdict = checkRecipient(s.config.bundle, address.address, { mayRelay, srs });
        if (!verdict.accept) throw verdict.error;
        const domains = [...s.domains, verdict.domain];
        const limits = ctx.listener.limits;
        // Counted per command: a repeated address replaces its entry in smtp-server's list, so
        // the list's length would let one address be sent without end (docs/reliability.md §1).
        const refusal =
          checkRecipientCount(s.rcptCommands, recipientLimitFor(domains, limits)) ?? checkDeclaredSize(s.declaredSize, sizeLimitFor(domains, limits));
        if (refusal) throw refusal;
        if (s.login) await overShared(s.log, 'rcpt-user', s.login.user, hourMs, (l) => l.recipientsPerUserPerHour);
        s.domains = domains;
        s.rcptCommands++;
        // <postmaster> and "quoted"@ local parts: the envelope keeps the address delivery routes.
        if (verdict.match !== 'relay' && verdict.match !== 'srs' && (verdict.address.local === 'postmaster' || address.address.startsWith('"'))) {
          address.address = verdict.address.address;
        }
      });
    },

    onData,
  };
}

// The largest message any listener transaction could carry: smtp-server's SIZE (EHLO and MAIL).
export function maxSizeOf(bundle: Bundle, listener: ListenerConfig): number {
  let max = listener.role === 'submission' ? listener.limits.maxMessageSize : 0;
  for (const d of bundle.domains) max = Math.max(max, d.inbound.maxMessageSize);
  // At most maxMessageSizeCap whatever a bundle says (the operator clamps too).
  return Math.min(max > 0 ? max : listener.limits.maxMessageSize, maxMessageSizeCap);
}

function declaredSize(address: SMTPServerAddress): number | null {
  const size = address.args ? address.args.SIZE : undefined;
  return typeof size === 'string' && /^\d{1,20}$/.test(size) ? Number(size) : null;
}

// The bytes of a message of `size` intake holds in memory: all of it, or up to the stream
// threshold when the rest goes to the Object Store during DATA (body-streaming.ts; not for
// mail the spam filter reads whole).
function heldBytesFor(ctx: HandlerContext, size: number, session: SMTPServerSession): number {
  const spamChecked = Boolean(ctx.spamFilter) && ctx.listener.role === 'mx' && !userOf(session);
  return ctx.streamThresholdBytes === undefined || spamChecked ? size : Math.min(size, ctx.streamThresholdBytes);
}
