// The forward transport: a mailbox whose target is "forward" gets its mail re-queued as a
// new message to the forward addresses, which then goes through routing and delivery like
// any other. The new message keeps the original envelope sender (no SRS yet, so SPF at the
// far end may fail for forwarded mail) and the body as stored.
//
// `requeue` is injected (the queue publisher in production). `dedupeId` is the same for
// every retry of this forward of this message, so a publish repeated after a crash is
// dropped by the queue's duplicate window instead of forwarding twice.
import { createHash } from 'node:crypto';
import type { DeliveryAttempt, RecipientOutcome, Transport } from './attempt.ts';
import { sameOutcome } from './smtp-client-reply.ts';

export interface ForwardJob {
  readonly originalQueueId: string;
  /** The original envelope sender ("" for a bounce). */
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly body: Buffer;
  readonly dedupeId: string;
}

export interface ForwardOptions {
  readonly requeue: (job: ForwardJob) => Promise<void>;
}

export function createForwardTransport(options: ForwardOptions): Transport {
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, record } = attempt;
      if (destination.kind !== 'forward') throw new Error(`forward cannot deliver to a ${destination.kind} destination`);
      const dedupeId = createHash('sha256').update(`${record.queueId}\n${destination.to.join(',')}`).digest('hex').slice(0, 32);
      try {
        await options.requeue({ originalQueueId: record.queueId, sender: record.envelope.mailFrom.address, recipients: destination.to, body: attempt.body, dedupeId });
        return sameOutcome(recipients, 'delivered', { code: 250, enhanced: '2.0.0', text: `Forwarded to ${destination.to.length} address(es)` }, `forwarded to ${destination.to.join(', ')}`);
      } catch (err) {
        return sameOutcome(recipients, 'transient', { code: 451, enhanced: '4.3.0', text: 'Forwarding temporarily failed' }, `requeue for forward failed: ${(err as Error).message}`);
      }
    },
  };
}
