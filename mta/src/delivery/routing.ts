// Routing: where each envelope recipient of a message goes, computed from the bundle alone
// (pure: no DNS, no I/O; MX lookups happen later, in the remote transport).
//
// # Rules, in order, for one envelope recipient
//
// Recipients are compared in their normalised form (bundle/address.ts: lowercase, xn--
// domains), as the bundle stores addresses; the record keeps them as received. An address
// that does not normalise is permanent 553 5.1.3 ("mailbox name not allowed", RFC 5321
// §4.2.2): at delivery no SMTP command failed, so intake's 501 (a syntax error in a command's
// argument) does not apply; the enhanced code 5.1.3 is the same.
//
// A recipient in one of our domains is who the bundle's directory says it is
// (mta/src/directory.ts, the one rule intake applies at RCPT too):
//   1. a mailbox with exactly this address → its delivery target;
//   2. an alias with exactly this address → each of its `to` addresses, resolved again;
//   3. `local+tag@domain` (RFC 5233) when `local@domain` is a mailbox or an alias → as that;
//   4. the domain's catch-all address, resolved again;
//   5. else permanent 550 5.1.1, with intake's words (policy/rejections.ts unknownRecipient):
//      intake refuses these at RCPT, but the bundle may have changed since.
// Aliases and catch-alls may point at other aliases or at remote addresses; the directory
// expands them (directory.ts `expand`: memoised, at most `maxExpansionTargets` targets and
// `maxExpansionDepth` steps), and a loop, an over-deep chain or too many targets is
// permanent 550 5.4.6 (policy/rejections.ts expansionRefusal, intake's words at RCPT too).
//
// A mailbox's target becomes a Destination: lmtp/maildir/webhook as given; `local` is a
// maildir under `options.localMaildirRoot`/<address>; `forward` is a forward
// destination (re-queued as a new message) plus, with keepCopy, the local maildir.
// The RCPT address used toward a mailbox target is the mailbox's own address (a +tag or an
// alias is not passed on: LMTP servers like Dovecot know mailboxes, not our aliases).
//
// A recipient in any other domain goes remote. Relays route the mail of their own
// namespace only (as render() enforces: one tenant's Relay never carries another's mail),
// so only the relays of the namespace whose MailDomain serves the sender's domain count:
//   a. the first of them whose match.recipientDomains contains the recipient's domain;
//   b. else the first whose match.senderDomains contains the envelope sender's domain;
//   c. else the relay named by the sender domain's outbound.relay (MailDomain.outbound.relayRef);
//   d. else the first of them with match.default;
//   e. else direct delivery to the recipient domain's MX hosts.
// Mail from a sender outside our domains and bounces from <> have no such namespace and go
// direct; so does every message that reached us unauthenticated on MX (mayChooseRelay): a
// sender address anyone can write never selects a tenant's Relay.
//
// SRS (mta/src/srs/): a bounce to an SRS address of one of our domains is routed, before the
// directory is asked, to the original sender it encodes (direct to its MX hosts); a forged or
// expired SRS address, or one used by anything but the null sender, is permanent 550.
//
// # What the engine gets
//
// `planRecipients` returns groups (one per distinct Destination, in first-seen order) of
// deliveries, each naming the address handed to the transport (`address`) and the envelope
// recipient it delivers for (`envelopeRecipient`); one envelope recipient may fan out to
// several deliveries (an alias), and several envelope recipients may share a delivery (two
// aliases of one mailbox; the pair is kept once per envelope recipient, so the engine can
// count an envelope recipient done when all of its deliveries are). Recipients that cannot
// be routed come back as already-classified permanent outcomes.
import { posix } from 'node:path';
import { normalizeAddress } from '../../../bundle/address.ts';
import type { QueueRecord } from '../queue/record.ts';
import type { SrsOptions } from '../srs/srs.ts';
import { checkSrsRecipient } from '../srs/srs-policy.ts';
import type { Bundle, BundleMailbox, BundleRelay } from '../../../bundle/schema.ts';
import { directoryOf, type Expansion } from '../directory.ts';
import { C, SE } from '../codes.ts';
import type { SmtpError } from '../errors.ts';
import { expansionRefusal, unknownRecipient } from '../policy/rejections.ts';
import { reply, type Reply } from '../reply.ts';
import { destinationKey, type Destination, type RecipientOutcome } from './attempt.ts';

export interface RoutingOptions {
  /** Root of the maildirs of mailboxes whose target is `local` (single-node and local runs). */
  readonly localMaildirRoot: string;
  /** How many alias/catch-all steps one recipient may take before it counts as a loop (directory.ts default). */
  readonly maxExpansionDepth?: number;
  /** How many distinct targets one recipient may expand to (directory.ts default). */
  readonly maxExpansionTargets?: number;
  /** The SRS keys in force (the bundle's secret part) and the clock; none: SRS addresses are unknown users. */
  readonly srs?: () => SrsOptions;
}

/** What the engine routes with (createRouter below; a fixed plan in tests). */
export type Router = (record: RoutedRecord, recipients: readonly string[]) => RoutePlan;

/** What routing reads of a queue record. */
export type RoutedRecord = Pick<QueueRecord, 'envelope' | 'listener' | 'client'>;

/** Routing's answer for the pending envelope recipients of one message. */
export interface RoutePlan {
  readonly groups: readonly DestinationGroup[];
  /** Envelope recipients that cannot be routed: permanent, one outcome each. */
  readonly unroutable: readonly RecipientOutcome[];
}

/** The deliveries to one destination. */
export interface DestinationGroup {
  /** A stable string for the destination: equal keys mean the same destination. */
  readonly key: string;
  readonly destination: Destination;
  readonly deliveries: readonly RoutedDelivery[];
}

/** One address to hand to a transport, and the envelope recipient it delivers for. */
export interface RoutedDelivery {
  readonly address: string;
  readonly envelopeRecipient: string;
}

export type RecipientRoute =
  | { readonly ok: true; readonly targets: readonly { readonly destination: Destination; readonly address: string }[] }
  | { readonly ok: false; readonly outcome: RecipientOutcome };

/** Routes every envelope recipient of one message and groups the results by destination. */
export function planRecipients(bundle: Bundle, sender: string, recipients: readonly string[], options: RoutingOptions): RoutePlan {
  const groups = new Map<string, { destination: Destination; deliveries: RoutedDelivery[] }>();
  const unroutable: RecipientOutcome[] = [];
  for (const recipient of recipients) {
    const route = routeRecipient(bundle, sender, recipient, options);
    if (!route.ok) {
      unroutable.push(route.outcome);
      continue;
    }
    for (const target of route.targets) {
      const key = destinationKey(target.destination);
      let group = groups.get(key);
      if (!group) {
        group = { destination: target.destination, deliveries: [] };
        groups.set(key, group);
      }
      if (!group.deliveries.some((d) => d.address === target.address && d.envelopeRecipient === recipient)) {
        group.deliveries.push({ address: target.address, envelopeRecipient: recipient });
      }
    }
  }
  return { groups: [...groups].map(([key, g]) => ({ key, destination: g.destination, deliveries: g.deliveries })), unroutable };
}

/** Routes one envelope recipient (normalised, as the record stores it) to its targets. */
export function routeRecipient(bundle: Bundle, sender: string, recipient: string, options: RoutingOptions): RecipientRoute {
  const expansion = directoryOf(bundle).expand(recipient, { maxDepth: options.maxExpansionDepth, maxTargets: options.maxExpansionTargets });
  if (!expansion.ok) return { ok: false, outcome: expansionFailure(recipient, expansion) };
  const targets = new Map<string, { destination: Destination; address: string }>();
  const add = (destination: Destination, address: string) => {
    targets.set(`${destinationKey(destination)}\n${address}`, { destination, address });
  };
  for (const target of expansion.targets) {
    if (target.kind === 'mailbox') {
      for (const destination of mailboxDestinations(target.mailbox, options)) add(destination, target.mailbox.address);
    } else if (target.kind === 'remote') {
      add(remoteDestination(bundle, sender, target.domain), target.address);
    } else {
      const at = target.address.lastIndexOf('@');
      const srs = checkSrsRecipient(target.address.slice(0, at), sender, options.srs?.() ?? { keys: [] });
      if (srs.kind === 'refuse') return { ok: false, outcome: refused(recipient, srs.error) };
      if (srs.kind === 'reverse') {
        const original = normalizeAddress(srs.original);
        if (!original)
          return {
            ok: false,
            outcome: permanent(recipient, badRecipientSyntax, `SRS address ${target.address} reverses to ${JSON.stringify(srs.original)}`),
          };
        add({ kind: 'mx', domain: original.domain }, srs.original);
      } else {
        // Unreachable: the directory only names SRS-shaped addresses as SRS targets.
        return { ok: false, outcome: refused(recipient, unknownRecipient(target.address)) };
      }
    }
  }
  return { ok: true, targets: [...targets.values()] };
}

/** A failed expansion as the permanent outcome of a recipient (same words as intake's refusal). */
function expansionFailure(recipient: string, failure: Extract<Expansion, { ok: false }>): RecipientOutcome {
  switch (failure.problem) {
    case 'syntax':
      return permanent(recipient, badRecipientSyntax, failure.detail);
    case 'unknown':
      return refused(recipient, unknownRecipient(failure.address));
    case 'loop':
    case 'too-deep':
    case 'too-many':
      return permanent(recipient, expansionRefusal(failure.problem), failure.detail);
  }
}

/** The relay or MX destination for a (normalised) recipient domain that is not ours (rules a–e above). */
export function remoteDestination(bundle: Bundle, sender: string, recipientDomain: string): Destination {
  const relay = chooseRelay(bundle.relays, bundle, normalizeAddress(sender)?.domain ?? null, recipientDomain);
  return relay ? { kind: 'relay', relayId: relay.id } : { kind: 'mx', domain: recipientDomain };
}

function chooseRelay(allRelays: readonly BundleRelay[], bundle: Bundle, senderDomain: string | null, recipientDomain: string): BundleRelay | undefined {
  const sender = senderDomain === null ? undefined : bundle.domains.find((d) => d.domain === senderDomain);
  if (!sender) return undefined;
  const relays = allRelays.filter((r) => r.source.namespace === sender.source.namespace);
  const byRecipient = relays.find((r) => r.match.recipientDomains.includes(recipientDomain));
  if (byRecipient) return byRecipient;
  const bySender = relays.find((r) => r.match.senderDomains.includes(sender.domain));
  if (bySender) return bySender;
  const named = sender.outbound.relay ? relays.find((r) => r.id === sender.outbound.relay) : undefined;
  if (named) return named;
  return relays.find((r) => r.match.default);
}

/** Where a mailbox's mail goes: its delivery target as destinations. */
export function mailboxDestinations(mailbox: BundleMailbox, options: RoutingOptions): Destination[] {
  const target = mailbox.delivery;
  switch (target.type) {
    case 'local':
      return [localMaildir(mailbox.address, options)];
    case 'lmtp':
      return [{ kind: 'lmtp', host: target.host, port: target.port }];
    case 'maildir':
      return [{ kind: 'maildir', path: target.path }];
    case 'webhook':
      return [{ kind: 'webhook', url: target.url, mailbox: mailbox.address }];
    case 'forward':
      return target.keepCopy ? [{ kind: 'forward', to: [...target.to] }, localMaildir(mailbox.address, options)] : [{ kind: 'forward', to: [...target.to] }];
  }
}

function localMaildir(address: string, options: RoutingOptions): Destination {
  // Normalised local parts may hold "/" or ".."-like text; the address stays one path
  // segment (alice@example.com), so no address can reach outside the root.
  const segment = encodeURIComponent(address)
    .replaceAll('%40', '@')
    .replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
  return { kind: 'maildir', path: posix.join(options.localMaildirRoot, segment) };
}

/**
 * A recipient that does not normalise, at delivery: 553 5.1.3 with intake's words
 * (policy/rejections.ts badRecipientSyntax; 553, not intake's 501, see the top of this file).
 */
const badRecipientSyntax = reply(C.C553BadMailbox, SE.BadDestSyntax3, 'Bad recipient address syntax');

/** An intake rejection (policy/rejections.ts) as the permanent outcome of a recipient. */
function refused(recipient: string, err: SmtpError): RecipientOutcome {
  return permanent(recipient, err.reply(), err.reason);
}

function permanent(recipient: string, reply: Reply, reason: string): RecipientOutcome {
  return { recipient, status: 'permanent', reply, reason };
}

/**
 * The engine's router: routes a record's pending recipients with the bundle in force at the
 * time of the call (a reload between attempts takes effect at the next one).
 */
export function createRouter(bundle: () => Bundle, options: RoutingOptions): Router {
  return (record, recipients) => planRecipients(bundle(), mayChooseRelay(record) ? record.envelope.mailFrom.address : '', recipients, options);
}

/**
 * Whether a message's envelope sender may select its tenant's Relay: not for mail that came in
 * unauthenticated on MX (its sender is whatever the client wrote; even a passing SPF check
 * only says an IP may send for the domain, not that our tenant sent it).
 */
export function mayChooseRelay(record: RoutedRecord): boolean {
  return record.listener !== 'mx' || record.client.authUser !== null;
}
