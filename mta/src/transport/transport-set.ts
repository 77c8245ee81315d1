// One Transport for the engine that hands each attempt to the transport for its
// destination's kind. A kind without a transport is a wiring error (thrown: the engine
// counts it transient for the attempt's recipients).
//
// `createDeliveryTransports` wires the production set: remote SMTP for mx and relay,
// LMTP, maildir, webhook (keys from the bundle's secret part) and forward (re-queue). Mail we
// vouch for (our users', our notices: dkim/sign-policy.ts) is DKIM-signed for local mailboxes
// too, as the remote transport signs it for other domains, so a mailbox filter can trust it.
import { isStreamed, type DeliveryAttempt, type Destination, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';
import { createForwardTransport, type ForwardOptions } from './forward.ts';
import { createLmtpTransport, type LmtpOptions } from './lmtp.ts';
import { createMaildirTransport } from './maildir.ts';
import { createRemoteSmtpTransport, ehloNameFor, type RemoteSmtpOptions } from './remote-smtp.ts';
import { createWebhookTransport } from './webhook.ts';
import { forwardingSender } from '../srs/srs-policy.ts';
import { signatureHeaders, signMessage } from '../dkim/sign.ts';
import { mayVouchFor, signingDomainRule } from '../dkim/sign-policy.ts';
import { toCrlf } from './smtp-client-message.ts';
import { openCrlf, readHeaderSection, withPrefix } from './streamed-message.ts';
import { withTargetPolicy } from './target-policy.ts';
import { defaultDeliveryTargetPolicy, type DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';

export type TransportsByKind = Partial<Record<Destination['kind'], Transport>>;

export function createTransportSet(transports: TransportsByKind): Transport {
  return {
    deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const transport = transports[attempt.destination.kind];
      if (!transport) return Promise.reject(new Error(`no transport configured for ${attempt.destination.kind} destinations`));
      return transport.deliver(attempt);
    },
    streams: (destination, record) => transports[destination.kind]?.streams?.(destination, record) ?? false,
  };
}

export interface DeliveryTransportsOptions extends RemoteSmtpOptions {
  /** Publishes a forwarded copy as a new message (the queue publisher). */
  readonly requeue: ForwardOptions['requeue'];
  readonly lmtp?: LmtpOptions;
  readonly webhookTimeoutMs?: number;
  /** The platform's delivery-target allow-lists (docs/trust-model.md); default defaultDeliveryTargetPolicy. */
  readonly targets?: DeliveryTargetPolicy;
  /** The MTA's own maildir root for the default delivery, allowed besides targets.maildirRoot. */
  readonly localMaildirRoot?: string;
}

/** Every transport, dispatched by destination kind; `close` ends pooled SMTP and LMTP connections. */
export function createDeliveryTransports(options: DeliveryTransportsOptions): { transport: Transport; close(): void } {
  const remote = createRemoteSmtpTransport(options);
  const targets = options.targets ?? defaultDeliveryTargetPolicy;
  const allowed = (inner: Transport) => withTargetPolicy(inner, targets, options.localMaildirRoot ?? null);
  const lmtp = createLmtpTransport({ lhloName: ehloNameFor(options.config().bundle, '', options.ehloFallback), ...options.lmtp });
  const transport = createTransportSet({
    mx: remote,
    relay: remote,
    lmtp: allowed(signedLocally(lmtp, options)),
    maildir: allowed(signedLocally(createMaildirTransport(), options)),
    webhook: allowed(
      signedLocally(
        createWebhookTransport({
          keyFor: (mailbox) => options.config().secrets.webhookKeys[mailbox],
          targets,
          ...(options.webhookTimeoutMs ? { timeoutMs: options.webhookTimeoutMs } : {}),
        }),
        options,
      ),
    ),
    forward: createForwardTransport({
      requeue: options.requeue,
      sender: (original, forwarder) => {
        const { bundle, secrets } = options.config();
        const sender = forwardingSender(original, forwarder, (d) => bundle.domains.some((x) => x.domain === d), { keys: secrets.srsKeys ?? [] });
        // Counted as the remote transport counts its own rewrites (stafette_srs_total).
        if (sender !== original) options.standards?.observer?.srs('forward', 'ok');
        return sender;
      },
    }),
  });
  return {
    transport,
    close: () => {
      remote.close();
      lmtp.close();
    },
  };
}

// A local transport behind DKIM signing of the mail we vouch for (unless dkim is off). A
// streamed body is signed in a pass of its own (streamed-message.ts) and goes on with the
// signatures in front, still streamed.
function signedLocally(inner: Transport, options: DeliveryTransportsOptions): Transport {
  return {
    async deliver(attempt) {
      if (options.dkim === false || !mayVouchFor(attempt.record)) return inner.deliver(attempt);
      const { bundle, secrets } = options.config();
      const sender = attempt.record.envelope.mailFrom.address;
      const mayUse = signingDomainRule(bundle, attempt.record);
      const { body } = attempt;
      if (isStreamed(body)) {
        const signed = await signatureHeaders(bundle, secrets, sender, await readHeaderSection(body), () => openCrlf(body), { mayUse });
        return inner.deliver({ ...attempt, body: withPrefix(body, signed.signatures) });
      }
      const signed = await signMessage(bundle, secrets, sender, toCrlf(body), { mayUse });
      return inner.deliver({ ...attempt, body: signed.message });
    },
    ...(inner.streams ? { streams: inner.streams.bind(inner) } : {}),
  };
}
