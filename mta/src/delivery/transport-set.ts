// One Transport for the engine that hands each attempt to the transport for its
// destination's kind. A kind without a transport is a wiring error (thrown: the engine
// counts it transient for the attempt's recipients).
import type { DeliveryAttempt, Destination, RecipientOutcome, Transport } from './attempt.ts';

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
