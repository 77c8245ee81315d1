// One Transport for the engine that hands each attempt to the transport for its
// destination's kind. A kind without a transport is a wiring error (thrown: the engine
// counts it transient for the attempt's recipients).
//
// `createDeliveryTransports` wires the production set: remote SMTP for mx and relay,
// LMTP, maildir, webhook (keys from the bundle's secret part) and forward (re-queue).
import type { DeliveryAttempt, Destination, RecipientOutcome, Transport } from '../delivery/attempt.ts';
import { createForwardTransport, type ForwardOptions } from './forward.ts';
import { createLmtpTransport, type LmtpOptions } from './lmtp.ts';
import { createMaildirTransport } from './maildir.ts';
import { createRemoteSmtpTransport, ehloNameFor, type RemoteSmtpOptions } from './remote-smtp.ts';
import { createWebhookTransport } from './webhook.ts';

export type TransportsByKind = Partial<Record<Destination['kind'], Transport>>;

export function createTransportSet(transports: TransportsByKind): Transport {
  return {
    deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const transport = transports[attempt.destination.kind];
      if (!transport) return Promise.reject(new Error(`no transport configured for ${attempt.destination.kind} destinations`));
      return transport.deliver(attempt);
    },
  };
}

export interface DeliveryTransportsOptions extends RemoteSmtpOptions {
  /** Publishes a forwarded copy as a new message (the queue publisher). */
  readonly requeue: ForwardOptions['requeue'];
  readonly lmtp?: LmtpOptions;
  readonly webhookTimeoutMs?: number;
}

/** Every transport, dispatched by destination kind; `close` ends pooled SMTP connections. */
export function createDeliveryTransports(options: DeliveryTransportsOptions): { transport: Transport; close(): void } {
  const remote = createRemoteSmtpTransport(options);
  const transport = createTransportSet({
    mx: remote,
    relay: remote,
    lmtp: createLmtpTransport({ lhloName: ehloNameFor(options.config().bundle, '', options.ehloFallback), ...options.lmtp }),
    maildir: createMaildirTransport(),
    webhook: createWebhookTransport({
      keyFor: (mailbox) => options.config().secrets.webhookKeys[mailbox],
      ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
    }),
    forward: createForwardTransport({ requeue: options.requeue }),
  });
  return { transport, close: () => remote.close() };
}
