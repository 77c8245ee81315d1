// The DATA hook of one listener (session-handlers.ts): the message read within its size limit
// and the memory budget, the inbound checks (message-checks.ts) and the spam filter on the MX
// listener, the header senders of authenticated mail, then the record and body enqueued; the
// reply is 250 only once the queue stored it.
import type { Readable } from 'node:stream';
import type { SMTPServerSession } from 'smtp-server';
import { describeError } from '../errors.ts';
import { sizeLimitFor } from '../policy/message-limits.ts';
import { memoryBudgetExceeded } from '../policy/rejections.ts';
import { checkHeaderSenders, headerSection } from '../policy/header-sender-policy.ts';
import { newQueueId, type ClientInfo } from '../queue/index.ts';
import { removeSpamFields } from '../spam/spam-fields.ts';
import { createDataReservation, enqueueStreamed, finishStreamed } from './body-streaming.ts';
import { addedFields, checkReceived, enqueueMessage, envelopeAddress, readMessage, storedBody, type BodySpill, type StreamedBody } from './data-intake.ts';
import { startMessageChecks, type MessageChecks } from './message-checks.ts';
import { userOf, type HookKit, type SessionState } from './session-context.ts';

export function createDataHook(kit: HookKit) {
  const { ctx, name, state, reject } = kit;

  return function onData(stream: Readable, session: SMTPServerSession, done: (err?: Error | null, message?: string) => void): void {
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
    const memory = createDataReservation(ctx.memoryBudget);
    let streamed: StreamedBody | null = null;
    let queueId: string | null = null;
    const idNow = () => (queueId ??= newQueueId(ctx.clock.now()));
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
      // rspamd reads the whole message after DATA: a message it checks is held whole.
      const spamChecked = Boolean(ctx.spamFilter) && ctx.listener.role === 'mx' && client.authUser === null;
      const threshold = ctx.streamThresholdBytes;
      const spill: BodySpill | undefined =
        threshold !== undefined && !spamChecked
          ? {
              thresholdBytes: threshold,
              open: () => (streamed = ctx.publisher.openBodyStream(idNow(), { taken: (bytes) => memory.releaseStreamed(bytes) })),
              reserve: (bytes) => memory.reserveStreamed(bytes),
            }
          : undefined;
      const message = await readMessage(stream, sizeLimit, { tap: checks?.tap, reserve: (bytes) => memory.reserveHeld(bytes), spill });
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
      const id = idNow();
      const trace = {
        queueId: id,
        date: new Date(now),
        byHostname: ctx.hostname,
        client,
        clientHostname: validHostname(session.clientHostname),
        smtpUtf8: envelope.smtpUtf8 === true,
        recipients: envelope.rcptTo.map((r) => r.address),
        completeHeaders: ctx.listener.role === 'submission',
        checkFields,
      };
      const accepted = {
        queueId: id,
        receivedAt: new Date(now).toISOString(),
        listener: name,
        client,
        envelope: {
          mailFrom: envelopeAddress(mailFrom.address, mailFrom.args),
          rcptTo: envelope.rcptTo.map((r) => envelopeAddress(r.address, r.args)),
        },
        ...(auth?.senderAuth ? { senderAuth: auth.senderAuth } : {}),
      };
      const started = performance.now();
      let bytes: number;
      if (message.streamed) {
        const object = await finishStreamed(message.streamed, id);
        streamed = null; // stored: it stays whatever the job's publish reports (body-streaming.ts)
        bytes = await enqueueStreamed(ctx.publisher, accepted, object, addedFields(message.scan, trace));
      } else {
        const body = storedBody(spam.chunks === message.chunks ? message : { ...message, chunks: spam.chunks }, trace);
        await enqueueMessage(ctx.publisher, accepted, body);
        bytes = body.length;
      }
      const seconds = (performance.now() - started) / 1000;
      ctx.observer.messageAccepted(name, bytes, seconds);
      s.log.info('message queued', {
        queueId: id,
        bytes,
        streamed: message.streamed !== null,
        recipients: envelope.rcptTo.length,
        publishMs: Math.round(seconds * 1000),
        bareCr: message.scan.bareCr,
        bareLf: message.scan.bareLf,
      });
      return id;
    })().then(
      (id) => {
        memory.releaseAll();
        done(null, `Ok: queued as ${id}`);
      },
      async (err: unknown) => {
        memory.releaseAll();
        checks?.abort();
        // Refused: the part of the body already in the Object Store goes before the reply.
        await streamed?.abort();
        // The client went away in the middle of DATA: nothing to answer, nothing was stored.
        if ((err as { code?: unknown } | null)?.code === 'ECONNECTION') {
          s.log.info('client left during DATA', { reason: describeError(err) });
          done(err as Error);
          return;
        }
        done(reject('DATA', s.log, err));
      },
    );
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
