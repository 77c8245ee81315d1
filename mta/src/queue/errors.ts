// Queue failures, classified once here so callers never inspect NATS errors themselves.
//
// Each error carries two texts: `message` is the detailed reason for the log (server error
// codes, timeouts, which step failed); `reply` is what an SMTP client may see, with no
// internals. The SMTP intake answers `reply` verbatim and logs `message` with `cause`.
// `transient` tells whether trying again later can succeed: every intake-time failure is
// transient from the sender's point of view (a 4xx), so the sender keeps the mail.
import { errors as coreErrors, RequestError } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { C, SE } from '../codes.ts';
import { describeError } from '../errors.ts';
import { reply, type Reply } from '../reply.ts';

export type QueueErrorKind = 'unavailable' | 'full' | 'setup' | 'format' | 'body';

export class QueueError extends Error {
  readonly kind: QueueErrorKind;
  readonly transient: boolean;
  readonly reply: Reply;
  constructor(kind: QueueErrorKind, transient: boolean, reply: Reply, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QueueError';
    this.kind = kind;
    this.transient = transient;
    this.reply = reply;
  }
}

// RFC 3463: X.3.0 "other or undefined mail system status"; X.3.1 "mail system full".
const unavailableReply = reply(C.C451LocalError, SE.MailSystem0, 'Temporary queue failure, please try again later');
const fullReply = reply(C.C452StorageFull, SE.MailSystemFull1, 'Insufficient system storage, please try again later');

/** JetStream could not confirm the message in time, or is not reachable: answer 451 4.3.0. */
export function queueUnavailable(reason: string, cause?: unknown): QueueError {
  return new QueueError('unavailable', true, unavailableReply, reason, { cause });
}

/** The stream or the body bucket is at max_bytes (discard: new refuses the write): 452 4.3.1. */
export function queueFull(reason: string, cause?: unknown): QueueError {
  return new QueueError('full', true, fullReply, reason, { cause });
}

/** The queue cannot be set up safely; the MTA must not start. Never sent to a client. */
export function queueSetupRefused(reason: string, cause?: unknown): QueueError {
  return new QueueError('setup', false, unavailableReply, reason, { cause });
}

/** A stored record cannot be decoded: corrupt or from an unknown format version. */
export function recordFormatError(reason: string): QueueError {
  return new QueueError('format', false, unavailableReply, reason);
}

/** A message body is missing from, or does not match its digest in, the Object Store. */
export function bodyError(reason: string, cause?: unknown): QueueError {
  return new QueueError('body', false, unavailableReply, reason, { cause });
}

export function isQueueError(err: unknown): err is QueueError {
  return err instanceof QueueError;
}

// nats-server store errors (server/store.go) that mean "the stream is full" under discard: new.
const fullDescriptions = ['maximum bytes exceeded', 'maximum messages exceeded', 'insufficient resources'];

/**
 * What to do about a failed JetStream publish:
 *  - 'retry': the ack may simply have been lost or delayed (timeout, no responders during a
 *    leader election, a disconnect); publishing again with the same Nats-Msg-Id is safe.
 *  - 'fail': retrying now cannot help; the returned error says why.
 */
export function classifyPublishFailure(err: unknown): { action: 'retry' } | { action: 'fail'; error: QueueError } {
  if (err instanceof QueueError) return { action: 'fail', error: err };
  if (err instanceof coreErrors.TimeoutError) return { action: 'retry' };
  // nats.js turns "no responders" on a publish into JetStreamNotEnabled (not exported from the
  // package root, hence the name check): nobody serves the stream right now, e.g. during a
  // leader election or while JetStream restarts.
  if (err instanceof Error && err.name === 'JetStreamNotEnabled') return { action: 'retry' };
  if (err instanceof RequestError || err instanceof coreErrors.NoRespondersError) return { action: 'retry' };
  if (err instanceof coreErrors.ConnectionError) return { action: 'retry' };
  if (err instanceof coreErrors.ClosedConnectionError || err instanceof coreErrors.DrainingConnectionError) {
    return { action: 'fail', error: queueUnavailable('the NATS connection is closed', err) };
  }
  if (err instanceof JetStreamApiError) {
    const description = err.apiError().description ?? err.message;
    if (fullDescriptions.some((d) => description.includes(d))) {
      return { action: 'fail', error: queueFull(`JetStream refused the write: ${description} (${err.code})`, err) };
    }
    return { action: 'fail', error: queueUnavailable(`JetStream refused the write: ${description} (${err.code})`, err) };
  }
  return { action: 'fail', error: queueUnavailable(`publish failed: ${describeError(err)}`, err) };
}
