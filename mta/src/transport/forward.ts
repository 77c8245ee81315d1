// The forward transport: a mailbox whose target is "forward" gets its mail re-queued as a
// new message to the forward addresses, which then goes through routing and delivery like
// any other. The new message's envelope sender is `sender(original, mailbox domain)`: in
// production the SRS address of the original at the forwarding mailbox's domain when the
// original is foreign (srs/srs-policy.ts), so SPF at the far end checks our domain and bounces
// come back to us to be reversed; the remote transport then ARC-seals the copy with that
// domain's key. The body is as stored, with a Delivered-To header per forwarding mailbox on
// top; a message that already carries one for this mailbox is a forwarding loop and bounces
// with 554 5.4.6.
//
// `requeue` is injected (`publisherRequeue` over the queue publisher in production; the
// copy's record has listener "forward" and keeps the original's authenticated user, so mail
// our users send is DKIM-signed when forwarded too, and mail from the Internet is not: see
// dkim/sign-policy.ts). `dedupeId` is the same for
// every retry of this forward of this message, so a publish repeated after a crash is
// dropped by the queue's duplicate window instead of forwarding twice.
import { createHash } from 'node:crypto';
import { C, SE } from '../codes.ts';
import { describeError } from '../errors.ts';
import type { AcceptedMessage } from '../queue/publisher.ts';
import type { SenderAuthResults } from '../queue/record.ts';
import { newQueueId, queueIdTime } from '../queue/queue-id.ts';
import { reply } from '../reply.ts';
import { sameOutcome, wholeBody, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';

export interface ForwardJob {
  readonly originalQueueId: string;
  /** The envelope sender of the copy ("" for a bounce). */
  readonly sender: string;
  /** The original's authenticated user (a submission), or null. */
  readonly authUser: string | null;
  /** The original's SPF/DMARC results at intake: a copy of forged mail sends no DSN either (dsn/backscatter.ts). */
  readonly senderAuth?: SenderAuthResults;
  readonly recipients: readonly string[];
  readonly body: Buffer;
  readonly dedupeId: string;
}

export interface ForwardOptions {
  readonly requeue: (job: ForwardJob) => Promise<void>;
  /** The copy's envelope sender for an original sender and the forwarding mailbox's domain; default: unchanged. */
  readonly sender?: (original: string, forwarderDomain: string) => string;
}

export function createForwardTransport(options: ForwardOptions): Transport {
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, record } = attempt;
      if (destination.kind !== 'forward') throw new Error(`forward cannot deliver to a ${destination.kind} destination`);
      const dedupeId = createHash('sha256')
        .update(`${record.queueId}\n${destination.to.join(',')}`)
        .digest('hex')
        .slice(0, 32);
      const seen = deliveredTo(wholeBody(attempt));
      const looping = recipients.filter((r) => seen.has(r.toLowerCase()));
      if (looping.length > 0) {
        return sameOutcome(
          recipients,
          'permanent',
          reply(C.C554TransactionFailed, SE.RoutingLoop6, 'Mail forwarding loop'),
          `the message already carries Delivered-To: ${looping.join(', ')}`,
        );
      }
      // Mark the copy the way Postfix marks local deliveries, so a forward that comes back
      // to this mailbox (A forwards to B, B to A) is recognised above instead of circling.
      const marked = Buffer.concat([Buffer.from(recipients.map((r) => `Delivered-To: ${r}\r\n`).join(''), 'utf8'), wholeBody(attempt)]);
      try {
        const original = record.envelope.mailFrom.address;
        const forwarder = recipients[0]!.slice(recipients[0]!.lastIndexOf('@') + 1);
        const sender = options.sender ? options.sender(original, forwarder) : original;
        await options.requeue({
          originalQueueId: record.queueId,
          sender,
          authUser: record.client.authUser,
          ...(record.senderAuth ? { senderAuth: record.senderAuth } : {}),
          recipients: destination.to,
          body: marked,
          dedupeId,
        });
        return sameOutcome(
          recipients,
          'delivered',
          reply(C.C250OK, SE.Other0, `Forwarded to ${destination.to.length} address(es)`),
          `forwarded to ${destination.to.join(', ')}`,
        );
      } catch (err) {
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.MailSystem0, 'Forwarding temporarily failed'),
          `requeue for forward failed: ${describeError(err)}`,
        );
      }
    },
  };
}

/** The part of the queue publisher a forward needs (mta/src/queue/publisher.ts). */
export interface ForwardPublisher {
  enqueue(message: AcceptedMessage, body: Uint8Array): Promise<unknown>;
}

/** The listener name forwarded copies carry in their queue record. */
export const forwardListener = 'forward';

/**
 * `requeue` for production: publishes the forwarded copy as a new queue job. Its queue id is
 * derived from the original's and the dedupe id, so every retry of this forward publishes the
 * same id and the stream's duplicate window drops repeats.
 */
export function publisherRequeue(publisher: ForwardPublisher, now: () => Date = () => new Date()): ForwardOptions['requeue'] {
  return async (job) => {
    const seed = createHash('sha256').update(job.dedupeId).digest();
    const queueId = newQueueId(queueIdTime(job.originalQueueId), () => seed.subarray(0, 10));
    await publisher.enqueue(
      {
        queueId,
        receivedAt: now().toISOString(),
        listener: forwardListener,
        client: { ip: '127.0.0.1', helo: 'forward', tls: null, authUser: job.authUser },
        envelope: { mailFrom: { address: job.sender, params: [] }, rcptTo: job.recipients.map((address) => ({ address, params: [] })) },
        ...(job.senderAuth ? { senderAuth: job.senderAuth } : {}),
      },
      job.body,
    );
  };
}

/** The addresses of the Delivered-To header fields of a message (lowercased). */
export function deliveredTo(message: Buffer): Set<string> {
  const end = message.indexOf('\r\n\r\n');
  const header = message
    .subarray(0, end < 0 ? message.length : end)
    .toString('utf8')
    .replace(/\r?\n[ \t]+/g, ' ');
  const out = new Set<string>();
  for (const line of header.split(/\r?\n/)) {
    const m = /^delivered-to\s*:\s*(.*)$/i.exec(line);
    if (m) out.add(m[1]!.trim().replace(/^<|>$/g, '').toLowerCase());
  }
  return out;
}
