// The seam between the delivery engine (which consumes jobs from the queue, keeps
// per-recipient state, retries, bounces) and the transports (which move one message
// to one destination: remote SMTP, a relay, LMTP, maildir, a webhook, a forward).
//
// The engine groups a message's pending recipients by destination (routing) and hands
// each group to `deliver`. A transport never throws for a delivery problem: it returns
// one outcome per recipient, already classified, so the engine's decision (done, retry,
// bounce) has exactly one input. Only a programming error may throw; the engine treats
// that as transient for every recipient of the attempt.
//
// Both sides also share two small rules kept here, so a transport needs nothing else of the
// engine: `destinationKey` (equal keys mean one destination: routing groups by it, the remote
// transport limits connections by it) and `sameOutcome` (one classified outcome for every
// recipient of an attempt that failed before any per-recipient answer). The deadline signal
// the engine gives each attempt (deadline-signal.ts) is passed on from here too, for a
// transport that bounds a part of its attempt the same way (remote-smtp.ts, per host).
import type { DeliveredVia } from '../dsn/notices.ts';
import type { BodySource } from '../queue/body-reader.ts';
import type { QueueRecord } from '../queue/record.ts';
import type { Reply } from '../reply.ts';

export { deadlineSignal, type DeadlineSignal } from './deadline-signal.ts';
export type { BodySource } from '../queue/body-reader.ts';

/** Where a group of recipients goes; computed by routing from the bundle. */
export type Destination =
  /** Direct delivery to the MX hosts of `domain` (RFC 5321 §5). */
  | { kind: 'mx'; domain: string }
  /** A smart host from the bundle's relays (id = namespace/name). */
  | { kind: 'relay'; relayId: string }
  | { kind: 'lmtp'; host: string; port: number }
  | { kind: 'maildir'; path: string }
  /** Re-queued as a new message to these addresses. */
  | { kind: 'forward'; to: string[] }
  | { kind: 'webhook'; url: string; mailbox: string };

export interface DeliveryAttempt {
  record: QueueRecord;
  /**
   * The message as stored (our headers included): whole, read from the queue or Object Store,
   * or (a large body, to a transport that `streams` to the destination) a source read from
   * the Object Store as it is sent (docs/reliability.md "Limits", streamed delivery).
   */
  body: Buffer | BodySource;
  destination: Destination;
  /** Envelope recipients of this attempt, as in the record (not yet delivered). */
  recipients: string[];
  /** Aborted when the attempt's deadline passes or the process shuts down. */
  signal: AbortSignal;
}

export type RecipientStatus = 'delivered' | 'transient' | 'permanent';

export interface RecipientOutcome {
  recipient: string;
  status: RecipientStatus;
  /**
   * What the remote side said, or what we would say, as an SMTP reply: code, enhanced
   * status and text. This goes into a DSN's Diagnostic-Code, so it is the remote's words
   * (capped in length), never our internals.
   */
  reply: Reply;
  /** Our detailed reason for the logs (connection refused to 127.0.0.2:25, ...). */
  reason: string;
  /** The host that answered, for the DSN's Remote-MTA and the logs. */
  remoteMta?: string;
  /** How a delivered recipient was handed on, for the success notices of DSN (dsn/notices.ts). */
  via?: DeliveredVia;
}

export interface Transport {
  deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]>;
  /**
   * Whether `deliver` takes a streamed body (a BodySource) for this destination and message;
   * absent or false: the engine hands it the body whole.
   */
  streams?(destination: Destination, record: QueueRecord): boolean;
}

/** Whether the attempt's body is streamed (a BodySource) rather than held whole. */
export function isStreamed(body: Buffer | BodySource): body is BodySource {
  return !Buffer.isBuffer(body);
}

/**
 * The whole body, for a transport that does not stream: the engine streams only to those
 * whose `streams` says so, so a streamed body here is a wiring error (thrown: transient).
 */
export function wholeBody(attempt: DeliveryAttempt): Buffer {
  if (isStreamed(attempt.body)) throw new Error(`the ${attempt.destination.kind} transport was handed a streamed body`);
  return attempt.body;
}

/** A stable key for a destination, for grouping and for per-destination limits. */
export function destinationKey(destination: Destination): string {
  switch (destination.kind) {
    case 'mx':
      return `mx:${destination.domain}`;
    case 'relay':
      return `relay:${destination.relayId}`;
    case 'lmtp':
      return `lmtp:${destination.host}:${destination.port}`;
    case 'maildir':
      return `maildir:${destination.path}`;
    case 'forward':
      return `forward:${destination.to.join(',')}`;
    case 'webhook':
      return `webhook:${destination.mailbox}:${destination.url}`;
  }
}

/** The same classified outcome for every recipient (a failure before any transaction). */
export function sameOutcome(recipients: readonly string[], status: RecipientStatus, reply: Reply, reason: string, remoteMta?: string): RecipientOutcome[] {
  return recipients.map((recipient) => ({ recipient, status, reply, reason, ...(remoteMta ? { remoteMta } : {}) }));
}
