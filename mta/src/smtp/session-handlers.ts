// The smtp-server hooks of one listener: each adapts smtp-server's callback to an async
// step, asks the pure policy for a verdict, and answers with the verdict's SmtpError or
// success. The only place where smtp-server's session object is read.
//
// Config: a session keeps the bundle it started with (getConfig() at connect), so a reload
// never changes the rules in the middle of a transaction; new sessions get the new bundle.
import type { Readable } from 'node:stream';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { normalizeAddress } from '../../../bundle/address.ts';
import { decoyPasswordHash, verifyPasswordAsync } from '../../../bundle/password-hash.ts';
import { maxMessageSizeCap, type Bundle, type BundleDomain, type BundleSecrets } from '../../../bundle/schema.ts';
import { describeError, isSmtpError, type SmtpError } from '../errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import { parseMailDsnParams, parseRcptDsnParams } from '../dsn/params.ts';
import { checkEsmtpParams } from '../policy/esmtp-params.ts';
import { checkDeclaredSize, checkRecipientCount, recipientLimitFor, sizeLimitFor } from '../policy/message-limits.ts';
import { checkRecipient } from '../policy/recipient-policy.ts';
import {
  authFailed,
  clientBlocklisted,
  localError,
  memoryBudgetExceeded,
  serviceUnavailable,
  storeNearFull,
  tooManyAuthFailures,
  tooManyConnections,
  tooManyFailedRecipients,
} from '../policy/rejections.ts';
import { checkMxSender, checkSubmissionSender } from '../policy/sender-policy.ts';
import { checkHeaderSenders, headerSection } from '../policy/header-sender-policy.ts';
import { newQueueId, type ClientInfo, type QueuePublisher } from '../queue/index.ts';
import type { ConnectionCounter } from './client-connections.ts';
import { bytesPerDataByte, type MemoryBudget } from './memory-budget.ts';
import { checkReceived, enqueueMessage, envelopeAddress, readMessage, storedBody } from './data-intake.ts';
import type { IntakeObserver } from './intake-observer.ts';
import { startMessageChecks, type InboundChecksOptions, type MessageChecks } from './message-checks.ts';
import type { ListenerConfig } from './listener-config.ts';
import type { DnsblChecker, DnsblListing } from '../spam/dnsbl.ts';
import type { SpamFilter } from '../spam/rspamd.ts';
import { removeSpamFields } from '../spam/spam-fields.ts';
import { clientKey } from '../policy/client-key.ts';
import { authBusy, hourMs, minuteMs, type SharedLimitSettings } from '../policy/shared-limits.ts';
import type { WindowCounters } from '../queue/shared-counters.ts';
import type { ScryptGate } from './scrypt-gate.ts';
import { createSharedChecks } from './shared-limit-checks.ts';
import { checkLoginStillValid } from '../policy/login-policy.ts';

export interface IntakeConfig {
  readonly bundle: Bundle;
  readonly secrets: BundleSecrets;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface HandlerContext {
  readonly listener: ListenerConfig;
  readonly hostname: string;
  readonly getConfig: () => IntakeConfig;
  readonly publisher: QueuePublisher;
  readonly clock: Clock;
  readonly observer: IntakeObserver;
  readonly logger: Logger;
  readonly connections: ConnectionCounter;
  /** SPF/DKIM/ARC/DMARC on the MX listener (message-checks.ts); null: not checked. */
  readonly inboundChecks?: InboundChecksOptions | null;
  /** DNS blocklists for the client address on the MX listener (docs/spam-checks.md §1); null: none. */
  readonly dnsbl?: DnsblChecker | null;
  /** The spam filter (rspamd) asked about each unauthenticated MX message (docs/spam-checks.md §2); null: none. */
  readonly spamFilter?: SpamFilter | null;
  /** Limits every pod shares (policy/shared-limits.ts); null: none. */
  readonly shared?: { readonly counters: WindowCounters; readonly settings: SharedLimitSettings } | null;
  /** The pod's cap on scrypt verifications at once; absent: no cap. */
  readonly scryptGate?: ScryptGate | null;
  /** True while the queue's store is near full (queue/store-pressure.ts). */
  readonly storeNearFull?: () => boolean;
  /** Bytes of message data this process may hold (memory-budget.ts), shared by every listener. */
  readonly memoryBudget?: MemoryBudget;
}

interface SessionState {
  readonly config: IntakeConfig;
  readonly log: Logger;
  authFailures: number;
  /** Domains of the accepted recipients of the current transaction (null: relayed). */
  domains: (BundleDomain | null)[];
  declaredSize: number | null;
  /** The blocklist lookup started at connect, answered at MAIL (null: not checked). */
  listing: Promise<DnsblListing | null> | null;
  /** RCPT commands accepted in this transaction, repeats included (smtp-server keeps a repeated address once). */
  rcptCommands: number;
  /** RCPT commands refused in this session (session.maxFailedRecipients). */
  failedRcpts: number;
  /** The login and the password hash it was verified against, re-checked at each MAIL. */
  login: { user: string; hash: string } | null;
}

type Done = (err?: Error | null) => void;

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

    onAuth(
      auth: SMTPServerAuthentication,
      session: SMTPServerSession,
      done: (err: Error | null | undefined, res?: SMTPServerAuthenticationResponse) => void,
    ): void {
      ctx.observer.command(name, 'AUTH');
      let s: SessionState;
      try {
        s = state(session);
      } catch (err) {
        done(reject('AUTH', ctx.logger, err));
        return;
      }
      const ip = clientKey(session.remoteAddress);
      const account = normalizeAddress(auth.username ?? '')?.address ?? (auth.username ?? '').toLowerCase();
      void (async () => {
        // A blocked attempt counts as a failure too: a client that keeps trying reaches twice
        // the limit and is then refused at connect (policy/shared-limits.ts).
        const blocked = await checkAuthBlocked(ip, account, s.log);
        const verifying = blocked ? null : ctx.scryptGate ? ctx.scryptGate.run(() => authenticate(s, auth)) : authenticate(s, auth);
        try {
          if (blocked) throw blocked;
          if (!verifying) throw authBusy();
          return await verifying;
        } catch (err) {
          if (!(isSmtpError(err) && err.rule === 'auth_busy')) await recordAuthFailure(ip, account, s.log);
          throw err;
        }
      })().then(
        ({ user, hash }) => {
          s.login = { user, hash };
          ctx.observer.authAttempt(name, 'success');
          s.log.info('authenticated', { user, method: auth.method });
          done(null, { user });
        },
        (err: unknown) => {
          ctx.observer.authAttempt(name, 'failure');
          s.authFailures++;
          const error = s.authFailures >= ctx.listener.maxAuthFailures ? tooManyAuthFailures(ctx.listener.maxAuthFailures) : err;
          done(reject('AUTH', s.log, error));
        },
      );
    },

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
        if (s.declaredSize !== null && ctx.memoryBudget && !ctx.memoryBudget.fits(s.declaredSize * bytesPerDataByte))
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

    onData(stream: Readable, session: SMTPServerSession, done: (err?: Error | null, message?: string) => void): void {
      ctx.observer.command(name, 'DATA');
      let s: SessionState;
      try {
        s = state(session);
      } catch (err) {
        stream.resume();
        stream.once('end', () => done(reject('DATA', ctx.logger, err)));
        return;
      }
      const limits = ctx.listener.limits;
      const sizeLimit = sizeLimitFor(s.domains, limits);
      let checks: MessageChecks | null = null;
      const budget = ctx.memoryBudget;
      let reserved = 0;
      const reserve = (bytes: number): boolean => {
        if (!budget) return true;
        if (!budget.tryReserve(bytes * bytesPerDataByte)) {
          // This message is refused and drops its chunks: give its share back to the others now.
          releaseAll();
          return false;
        }
        reserved += bytes * bytesPerDataByte;
        return true;
      };
      const releaseAll = () => {
        budget?.release(reserved);
        reserved = 0;
      };
      void (async () => {
        const envelope = session.envelope;
        const mailFrom = envelope.mailFrom || { address: '', args: false as const };
        const client = clientInfo(session);
        checks =
          ctx.inboundChecks && ctx.listener.role === 'mx' && client.authUser === null
            ? startMessageChecks(ctx.inboundChecks, {
                config: s.config,
                ip: client.ip,
                helo: client.helo,
                mailFrom: mailFrom.address,
                domains: s.domains,
                hostname: ctx.hostname,
                log: s.log,
              })
            : null;
        const message = await readMessage(stream, sizeLimit, checks?.tap, reserve);
        if (message.overBudget) throw memoryBudgetExceeded(`the memory budget ran out after ${message.scan.size} bytes of DATA`);
        const refusal = checkReceived(message, sizeLimit, limits);
        if (refusal) throw refusal;
        // Authenticated mail (submission; MX offers no AUTH): the header From and Sender must be
        // the login's to use (docs/trust-model.md §2.1).
        if (client.authUser !== null) {
          const notOwned = checkHeaderSenders(s.config.bundle, client.authUser, headerSection(message.chunks));
          if (notOwned) throw notOwned;
        }
        const auth = checks ? await checks.finish() : null;
        checks = null;
        const spam = await spamCheck(s, session, client, message.chunks);
        const checkFields = (auth?.headerFields ?? '') + spam.fields;
        const now = ctx.clock.now();
        const queueId = newQueueId(now);
        const body = storedBody(spam.chunks === message.chunks ? message : { ...message, chunks: spam.chunks }, {
          queueId,
          date: new Date(now),
          byHostname: ctx.hostname,
          client,
          clientHostname: validHostname(session.clientHostname),
          smtpUtf8: envelope.smtpUtf8 === true,
          recipients: envelope.rcptTo.map((r) => r.address),
          completeHeaders: ctx.listener.role === 'submission',
          checkFields,
        });
        const started = performance.now();
        await enqueueMessage(
          ctx.publisher,
          {
            queueId,
            receivedAt: new Date(now).toISOString(),
            listener: name,
            client,
            envelope: {
              mailFrom: envelopeAddress(mailFrom.address, mailFrom.args),
              rcptTo: envelope.rcptTo.map((r) => envelopeAddress(r.address, r.args)),
            },
            ...(auth?.senderAuth ? { senderAuth: auth.senderAuth } : {}),
          },
          body,
        );
        const seconds = (performance.now() - started) / 1000;
        ctx.observer.messageAccepted(name, body.length, seconds);
        s.log.info('message queued', {
          queueId,
          bytes: body.length,
          recipients: envelope.rcptTo.length,
          publishMs: Math.round(seconds * 1000),
          bareCr: message.scan.bareCr,
          bareLf: message.scan.bareLf,
        });
        return queueId;
      })().then(
        (queueId) => {
          releaseAll();
          done(null, `Ok: queued as ${queueId}`);
        },
        (err: unknown) => {
          releaseAll();
          checks?.abort();
          // The client went away in the middle of DATA: nothing to answer, nothing was stored.
          if ((err as { code?: unknown } | null)?.code === 'ECONNECTION') {
            s.log.info('client left during DATA', { reason: describeError(err) });
            done(err as Error);
            return;
          }
          done(reject('DATA', s.log, err));
        },
      );
    },
  };

  // rspamd's verdict after the whole message arrived: the message without the spam fields it
  // brought (spam/spam-fields.ts) and our fields to add, or a thrown 550/451.
  async function spamCheck(
    s: SessionState,
    session: SMTPServerSession,
    client: ClientInfo,
    received: readonly Buffer[],
  ): Promise<{ fields: string; chunks: readonly Buffer[] }> {
    if (!ctx.spamFilter || ctx.listener.role !== 'mx' || client.authUser !== null) return { fields: '', chunks: received };
    const started = performance.now();
    const { chunks, removed } = removeSpamFields(received);
    try {
      const result = await ctx.spamFilter.check({
        message: removed > 0 ? chunks : received,
        ip: client.ip,
        helo: client.helo,
        clientHostname: validHostname(session.clientHostname),
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        recipients: session.envelope.rcptTo.map((r) => r.address),
        authUser: client.authUser,
        hostname: ctx.hostname,
      });
      s.log.info('spam check', {
        score: result.score,
        ms: Math.round(performance.now() - started),
        forgedFieldsRemoved: removed,
        ...(result.error ? { error: result.error } : {}),
      });
      return { fields: result.headerFields, chunks: removed > 0 ? chunks : received };
    } catch (err) {
      s.log.info('spam check refused the message', { ms: Math.round(performance.now() - started), reason: describeError(err) });
      throw err;
    }
  }

  async function authenticate(s: SessionState, auth: SMTPServerAuthentication): Promise<{ user: string; hash: string }> {
    if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') throw authFailed(auth.username ?? '', `method ${auth.method} not offered`);
    const raw = auth.username ?? '';
    // PLAIN may name a different authorization identity (RFC 4616); we do not offer proxy logins.
    if (auth.authzid && auth.authzid !== raw) throw authFailed(raw, 'authorization identity differs from the login');
    const user = normalizeAddress(raw)?.address ?? null;
    const mailbox = user ? s.config.bundle.mailboxes.find((m) => m.address === user) : undefined;
    const hash = mailbox?.login && user ? s.config.secrets.passwords[user] : undefined;
    // An unknown login (or one that may not log in) costs the same scrypt work as a known one,
    // against a decoy of the platform's one cost, so timing does not tell which logins exist
    // (docs/trust-model.md, docs/reliability.md §3 scenario 22). The bundle check admits only
    // hashes of that cost, so a stored hash costs the same as the decoy.
    ctx.observer.passwordChecked(name, hash ? 'stored' : 'decoy');
    const ok = await verifyPasswordAsync(hash ?? decoyPasswordHash, auth.password ?? '');
    if (!hash || !user) throw authFailed(raw, mailbox ? 'mailbox may not log in' : 'no such login');
    if (!ok) throw authFailed(raw, 'wrong password');
    return { user, hash };
  }
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

function userOf(session: SMTPServerSession): string {
  return typeof session.user === 'string' ? session.user : '';
}

function clientInfo(session: SMTPServerSession): ClientInfo {
  const cipher = session.secure && session.tlsOptions ? session.tlsOptions : null;
  return {
    ip: session.remoteAddress,
    helo: session.hostNameAppearsAs || '',
    tls: cipher ? { protocol: cipher.version ?? 'TLS', cipher: cipher.standardName ?? cipher.name } : null,
    authUser: userOf(session) || null,
  };
}

function validHostname(name: unknown): string | null {
  return typeof name === 'string' && name !== '' && !name.startsWith('[') ? name : null;
}
