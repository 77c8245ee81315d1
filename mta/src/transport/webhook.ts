// The webhook transport: a mailbox's mail POSTed to an HTTP(S) endpoint.
//
// Request: POST <url>, Content-Type: application/json, body
//   {"queueId": ..., "mailbox": ..., "sender": ..., "recipients": [...], "message": "<base64 of the raw message>"}
// signed with the mailbox's key (secrets.webhookKeys[mailbox]) as
//   Stafette-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>
// so the receiver can check both the content and its age (replays).
//
// Any 2xx is delivered. Everything else — another status, a redirect (not followed), a
// network error, the deadline — is transient (the endpoint may recover): the engine
// retries on its schedule and bounces when the message expires.
import { createHmac } from 'node:crypto';
import { C, SE } from '../codes.ts';
import { describeError } from '../errors.ts';
import { reply } from '../reply.ts';
import { sameOutcome, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';

export interface WebhookOptions {
  /** The HMAC key of a mailbox, from the bundle's secret part, or undefined. */
  readonly keyFor: (mailbox: string) => string | undefined;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
}

export function createWebhookTransport(options: WebhookOptions): Transport {
  const now = options.now ?? (() => new Date());
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, record } = attempt;
      if (destination.kind !== 'webhook') throw new Error(`webhook cannot deliver to a ${destination.kind} destination`);
      const key = options.keyFor(destination.mailbox);
      if (!key)
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.Misconfigured5, 'Webhook not configured'),
          `no webhook key for ${destination.mailbox}`,
        );
      const body = JSON.stringify({
        queueId: record.queueId,
        mailbox: destination.mailbox,
        sender: record.envelope.mailFrom.address,
        recipients,
        message: attempt.body.toString('base64'),
      });
      const timestamp = Math.floor(now().getTime() / 1000);
      const host = safeHost(destination.url);
      try {
        const response = await fetch(destination.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stafette-signature': signWebhook(key, timestamp, body), 'user-agent': 'stafette-webhook' },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([attempt.signal, AbortSignal.timeout(options.timeoutMs ?? 30_000)]),
        });
        // The answer's body is not needed; do not let a large one be buffered.
        await response.body?.cancel().catch(() => {});
        if (response.status >= 200 && response.status < 300) {
          return sameOutcome(
            recipients,
            'delivered',
            reply(C.C250OK, SE.Other0, `Webhook accepted (HTTP ${response.status})`),
            `POST ${host}: HTTP ${response.status}`,
            host,
          );
        }
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.MailSystem0, `Webhook answered HTTP ${response.status}`),
          `POST ${host}: HTTP ${response.status}`,
          host,
        );
      } catch (err) {
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.NoAnswer1, 'Webhook not reachable'),
          `POST ${host}: ${describeError(err)}`,
          host,
        );
      }
    },
  };
}

/** The Stafette-Signature header value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(key: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}
