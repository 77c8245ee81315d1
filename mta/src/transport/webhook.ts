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
// retries on its schedule and bounces when the message expires. With the platform's
// delivery-target policy (`targets`, docs/trust-model.md), a URL that is not https or names
// a non-public address, or a name that resolves to one at connect time, is a permanent
// failure (550 5.7.1, target-policy.ts).
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';
import { C, SE } from '../codes.ts';
import { describeError } from '../errors.ts';
import { reply } from '../reply.ts';
import { sameOutcome, wholeBody, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';
import { checkedLookup, destinationProblem, targetRefusedReply, TargetRefusedError } from './target-policy.ts';

export interface WebhookOptions {
  /** The HMAC key of a mailbox, from the bundle's secret part, or undefined. */
  readonly keyFor: (mailbox: string) => string | undefined;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
  /** The platform's allow-lists; without them (transport tests only) any URL is posted to. */
  readonly targets?: DeliveryTargetPolicy;
  /** The name resolution the connect-time check uses (default the system's, node:dns lookup). */
  readonly lookup?: Parameters<typeof checkedLookup>[1];
}

export function createWebhookTransport(options: WebhookOptions): Transport {
  const now = options.now ?? (() => new Date());
  const lookup = options.targets ? checkedLookup(options.targets, options.lookup) : undefined;
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
        message: wholeBody(attempt).toString('base64'),
      });
      const timestamp = Math.floor(now().getTime() / 1000);
      const host = safeHost(destination.url);
      const problem = options.targets ? destinationProblem(destination, options.targets, null) : null;
      if (problem) return sameOutcome(recipients, 'permanent', targetRefusedReply, `refused by the delivery-target policy: ${problem}`, host);
      try {
        const status = await post(
          new URL(destination.url),
          { 'content-type': 'application/json', 'stafette-signature': signWebhook(key, timestamp, body), 'user-agent': 'stafette-webhook' },
          body,
          AbortSignal.any([attempt.signal, AbortSignal.timeout(options.timeoutMs ?? 30_000)]),
          lookup,
        );
        const response = { status };
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
        if (err instanceof TargetRefusedError) {
          return sameOutcome(recipients, 'permanent', targetRefusedReply, `refused by the delivery-target policy at connect time: ${err.message}`, host);
        }
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

/** POSTs `body` and answers the status; redirects are not followed, the answer's body is discarded unread. */
function post(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal, lookup: LookupFunction | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal, ...(lookup ? { lookup } : {}) },
      (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on('error', (err) => reject((err as { cause?: unknown }).cause instanceof TargetRefusedError ? (err as { cause: Error }).cause : err));
    req.end(body);
  });
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
