// The platform's delivery-target allow-lists at the MTA (bundle/delivery-targets.ts,
// docs/trust-model.md "Passwords and delivery targets"): the operator keeps targets outside
// them out of the bundle; this is the second check for one that still gets here. A refused
// target is a permanent failure, 550 5.7.1, so the sender gets a bounce instead of retries
// that can never succeed. Webhooks are checked again at connect time (webhook.ts).
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { lmtpHostProblem, maildirPathProblem, webhookAddressProblem, webhookUrlProblem, type DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';
import { C, SE } from '../codes.ts';
import { reply, type Reply } from '../reply.ts';
import { sameOutcome, type Destination, type Transport } from '../delivery/attempt.ts';

/** The reply of a delivery to a target the platform does not allow. */
export const targetRefusedReply: Reply = reply(C.C550MailboxUnavailable, SE.NotAuthorized1, 'Delivery target not allowed by the platform');

/** Why the MTA may not deliver to `destination`, or null. `localMaildirRoot` (the MTA's own default-delivery root) is always allowed. */
export function destinationProblem(destination: Destination, policy: DeliveryTargetPolicy, localMaildirRoot: string | null): string | null {
  switch (destination.kind) {
    case 'lmtp':
      return lmtpHostProblem(destination.host, policy);
    case 'maildir': {
      const problem = maildirPathProblem(destination.path, policy);
      if (problem === null || localMaildirRoot === null) return problem;
      return maildirPathProblem(destination.path, { ...policy, maildirRoot: localMaildirRoot }) === null ? null : problem;
    }
    case 'webhook':
      return webhookUrlProblem(destination.url, policy);
    default:
      return null;
  }
}

/** `inner` behind the allow-lists: a refused destination is a permanent failure for all its recipients. */
export function withTargetPolicy(inner: Transport, policy: DeliveryTargetPolicy, localMaildirRoot: string | null = null): Transport {
  return {
    async deliver(attempt) {
      const problem = destinationProblem(attempt.destination, policy, localMaildirRoot);
      if (problem) return sameOutcome(attempt.recipients, 'permanent', targetRefusedReply, `refused by the delivery-target policy: ${problem}`);
      return inner.deliver(attempt);
    },
    ...(inner.streams ? { streams: inner.streams.bind(inner) } : {}),
  };
}

/** An error of the connect-time check: the name resolved to an address webhooks may not reach. */
export class TargetRefusedError extends Error {}

type Lookup = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `lookup` for http(s).request that resolves the name and refuses it unless every
 * address is one webhooks may reach; the socket then connects to the address checked here,
 * so a name that resolves differently between render and connect (DNS rebinding) is caught.
 */
export function checkedLookup(policy: DeliveryTargetPolicy, resolve: Lookup = dnsLookup): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (...args: never[]) => void) => {
    const done = callback as unknown as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return done(err, '', 0);
      for (const a of addresses) {
        const problem = webhookAddressProblem(a.address, policy);
        if (problem) return done(new TargetRefusedError(`${hostname} resolves to ${problem}`), '', 0);
      }
      if (addresses.length === 0) return done(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return done(null, addresses);
      const first = addresses[0] as LookupAddress;
      return done(null, first.address, first.family);
    });
  };
}
