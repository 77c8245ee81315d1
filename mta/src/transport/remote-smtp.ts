// The remote transport: a message to the MX hosts of a domain (RFC 5321 §5) or to a relay
// (smart host), over SMTP, DKIM-signed first.
//
// For one attempt (one destination, its recipients):
//  1. line ends become CRLF and the message is DKIM-signed with the bundle's keys (only mail
//     we vouch for: authenticated submissions and our DSNs, dkim/sign-policy.ts); a large
//     stored body is not held but read again for each pass (streamed-message.ts);
//  2. the hosts: the relay's host, or the domain's MX hosts in preference order (mx-hosts.ts;
//     DNS failures are classified there: null MX 556 5.1.10, NXDOMAIN 5.1.2, SERVFAIL 4.4.3);
//  3. a slot for the destination (per-pod concurrency limit: the relay's limits.connections,
//     or `mxConcurrency` per MX domain), and for relays with limits.messagesPerSecond a
//     start time that keeps to that rate;
//  4. each host's addresses in turn, at most `maxAddresses`: a pooled connection or a new
//     one (EHLO with our domain's hostname, STARTTLS when offered — required for relays with
//     tls: starttls; toward an MX a failed handshake is retried once in plaintext —, AUTH
//     for relays). A host that cannot be reached, greets with an error
//     or breaks before the message is sent is skipped; the first transaction that runs decides:
//     per-recipient RCPT replies, the reply after the data for the accepted ones;
//  5. SMTPUTF8 mail to a next hop without SMTPUTF8 bounces with 553 5.6.7 (RFC 6531 §3.2),
//     8-bit mail to one without 8BITMIME with 554 5.6.3 (RFC 6152; we do not downgrade);
//  6. when no host could be reached: transient 451 4.4.1, with every host's reason logged.
// Everything runs under the attempt's AbortSignal (the engine's deadline for the attempt),
// and each host's connection and transaction under `transactionTimeoutMs` as well.
import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { normalizeAddress } from '../../../bundle/address.ts';
import { C, SE } from '../codes.ts';
import type { Bundle, BundleRelay, BundleSecrets } from '../../../bundle/schema.ts';
import { signatureHeaders, signMessage } from '../dkim/sign.ts';
import { mayVouchFor, signingDomainRule } from '../dkim/sign-policy.ts';
import { silentLogger, type Logger } from '../../../observability/logger.ts';
import { reply } from '../reply.ts';
import {
  deadlineSignal,
  destinationKey,
  isStreamed,
  sameOutcome,
  type DeadlineSignal,
  type DeliveryAttempt,
  type RecipientOutcome,
  type Transport,
} from '../delivery/attempt.ts';
import { classifyDnsError, type DnsResolver } from '../dns.ts';
import { findMailHosts, type MailHost, type MailHostsResult } from './mx-hosts.ts';
import { SmtpClientConnection, type SmtpClientOptions, type TlsMode } from './smtp-client.ts';
import { needsSmtpUtf8, toCrlf } from './smtp-client-message.ts';
import { openCrlf, readHeaderSection, streamedMessage, wholeMessage, withPrefix, type OutgoingMessage } from './streamed-message.ts';
import { ConnectionPool, DestinationLimiter, RatePacer, type ConnectionPoolOptions } from './smtp-client-pool.ts';
import { outcomesOf } from './smtp-client-reply.ts';
import { passedOnForSomeoneElse, planAttempt, type OutboundStandards } from './outbound-standards.ts';
import type { TlsFailure } from '../outbound-tls/tls-requirements.ts';

export interface BundlePair {
  readonly bundle: Bundle;
  readonly secrets: BundleSecrets;
}

/** The port of MX hosts: SMTP's own, 25; another only in tests. */
export const defaultMxPort = 25;

export interface RemoteSmtpOptions {
  /** The bundle in force (it may be reloaded between attempts). */
  readonly config: () => BundlePair;
  readonly resolver: DnsResolver;
  /** Port of MX hosts (default defaultMxPort). */
  readonly mxPort?: number;
  /** TLS options toward MX hosts; opportunistic TLS does not verify certificates by default. */
  readonly mxTlsOptions?: ConnectionOptions;
  /** TLS options toward relays (a CA, a servername); certificates are verified by default. */
  readonly relayTlsOptions?: ConnectionOptions;
  /** Concurrent transactions per MX domain per pod. */
  readonly mxConcurrency?: number;
  /** Addresses tried per attempt, across all hosts. */
  readonly maxAddresses?: number;
  readonly connectTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
  readonly maxReplyBytes?: number;
  /**
   * Deadline of one host's connection and transaction (10 min by default, RFC 5321
   * §4.5.3.2's longest wait); the attempt's own signal still bounds the whole attempt. A
   * host that runs out of time before the message is sent is skipped for the next one.
   */
  readonly transactionTimeoutMs?: number;
  /** EHLO name when the sender's domain is not ours (bounces); defaults to the first domain's hostname. */
  readonly ehloFallback?: string;
  readonly pool?: ConnectionPoolOptions;
  readonly dkim?: boolean;
  readonly random?: () => number;
  readonly logger?: Logger;
  /** MTA-STS, TLS-RPT, SRS, ARC and DSN pass-on (outbound-standards.ts); none: all off. */
  readonly standards?: OutboundStandards;
}

export interface RemoteSmtpTransport extends Transport {
  /** Closes pooled connections (shutdown). */
  close(): void;
}

interface Hop {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

export function createRemoteSmtpTransport(options: RemoteSmtpOptions): RemoteSmtpTransport {
  const pool = new ConnectionPool(options.pool);
  const limiter = new DestinationLimiter();
  const pacer = new RatePacer();
  const logger = options.logger ?? silentLogger;

  async function deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
    const { destination, recipients, signal, record } = attempt;
    if (destination.kind !== 'mx' && destination.kind !== 'relay') throw new Error(`remote SMTP cannot deliver to a ${destination.kind} destination`);
    const { bundle, secrets } = options.config();
    const log = logger.child({ queueId: record.queueId, destination: destinationKey(destination) });

    let relay: BundleRelay | undefined;
    let auth: { user: string; pass: string } | undefined;
    if (destination.kind === 'relay') {
      relay = bundle.relays.find((r) => r.id === destination.relayId);
      if (!relay)
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.Misconfigured5, 'Relay not configured'),
          `relay ${destination.relayId} is not in the bundle`,
        );
      if (relay.auth) {
        const credentials = secrets.relayCredentials[relay.id];
        if (!credentials)
          return sameOutcome(
            recipients,
            'transient',
            reply(C.C451LocalError, SE.Misconfigured5, 'Relay credentials missing'),
            `relay ${relay.id} needs AUTH but secrets.json has no credentials for it`,
          );
        auth = { user: credentials.username, pass: credentials.password };
      }
    }

    let message = await signedMessage(attempt, bundle, secrets, options.dkim ?? true, log);
    // A relay's certificate is verified unless the Relay opts out (verifyCertificate: false) or
    // the transport was built not to (relayTlsOptions.rejectUnauthorized: false, tests).
    const verifyRelay = relay !== undefined && relay.verifyCertificate !== false && options.relayTlsOptions?.rejectUnauthorized !== false;
    const plan = await planAttempt(
      record,
      message.whole ?? message.header,
      relay ? { kind: 'relay', tls: relay.tls, verify: verifyRelay } : { kind: 'mx', domain: (destination as { domain: string }).domain },
      { bundle, secrets },
      options.standards ?? {},
      log,
    );
    const from = plan.from;
    if (message.whole) message = wholeMessage(plan.message);
    // Only an ARC seal changes the message, and mail passed on is never streamed (`streams`).
    else if (plan.message !== message.header) throw new Error('an ARC seal needs the whole message, which a streamed body is not');

    const hosts: MailHostsResult = relay
      ? await relayHosts(relay, options.resolver)
      : await findMailHosts((destination as { domain: string }).domain, options.resolver, { ...(options.random ? { random: options.random } : {}) });
    if (!hosts.ok) return sameOutcome(recipients, hosts.status, hosts.reply, hosts.reason);

    const limit = relay ? relay.limits.connections : (options.mxConcurrency ?? 5);
    const release = await limiter.acquire(destinationKey(destination), limit, signal);
    if (!release)
      return sameOutcome(
        recipients,
        'transient',
        reply(C.C451LocalError, SE.BadConnection2, 'Delivery attempt timed out'),
        'deadline passed while waiting for a connection slot',
      );
    const deadlines: DeadlineSignal[] = [];
    try {
      const hops = hopsOf(hosts.hosts, relay ? relay.port : (options.mxPort ?? defaultMxPort)).slice(0, options.maxAddresses ?? 10);
      const tls: TlsMode = relay ? relayTlsMode(relay) : 'opportunistic';
      const ehloName = ehloNameFor(bundle, from, options.ehloFallback);
      const { eightBit } = message;
      const utf8 = needsSmtpUtf8(from, recipients, message.header);
      const failures: string[] = [];
      let lastTlsFailure: TlsFailure | null = null;
      for (const hop of hops) {
        if (signal.aborted) break;
        const label = `${hop.name}[${hop.address}]:${hop.port}`;
        // MTA-STS / REQUIRETLS: may this host be used at all, and with what TLS?
        const verdict = plan.hostVerdict(hop.name);
        if (!verdict.ok) {
          if (verdict.failure.status === 'permanent')
            return sameOutcome(recipients, 'permanent', verdict.failure.reply, `${label}: ${verdict.failure.reason}`, hop.name);
          plan.reportRefusedHost(hop.name, verdict.failure);
          failures.push(`${label}: ${verdict.failure.reason}`);
          lastTlsFailure = verdict.failure;
          continue;
        }
        const verified = verdict.requirement.tls === 'verified';
        // Opportunistic TLS toward an MX: a failed handshake is retried once in plaintext (as
        // Postfix does at security level "may"); relays keep their configured TLS; a policy that
        // wants verified TLS gets STARTTLS or nothing (the certificate is checked after it).
        let hopTls: TlsMode = verified && !relay ? 'required' : tls;
        for (let tries = 0; tries < 2; tries++) {
          const clientOptions: SmtpClientOptions = {
            host: hop.address,
            port: hop.port,
            ...(isIP(hop.name) ? {} : { servername: hop.name }),
            ehloName,
            tls: hopTls,
            // Verification is decided after the handshake (plan.checkConnection), so MTA-STS
            // testing can still deliver over an unverified session and report it.
            tlsOptions: relay ? { ...(options.relayTlsOptions ?? {}), rejectUnauthorized: false } : (options.mxTlsOptions ?? { rejectUnauthorized: false }),
            ...(auth ? { auth } : {}),
            ...timeouts(options),
          };
          const key = poolKey({ relayId: relay?.id ?? null, address: hop.address, port: hop.port, servername: hop.name, tls: hopTls, auth, ehloName });
          const hostDeadline = deadlineSignal(signal, options.transactionTimeoutMs ?? 600_000);
          deadlines.push(hostDeadline);
          const hostSignal = hostDeadline.signal;
          const pooled = pool.take(key);
          const connection = pooled ?? (await SmtpClientConnection.open(clientOptions, hostSignal));
          if (!(connection instanceof SmtpClientConnection)) {
            failures.push(`${label}: ${connection.reason}`);
            if (connection.stage === 'auth') {
              return sameOutcome(
                recipients,
                'transient',
                reply(C.C454TempAuthFailure, SE.Security0, 'Authentication with the relay failed'),
                `${label}: ${connection.reason}`,
                hop.name,
              );
            }
            if (connection.stage === 'tls' && verified && !relay) {
              const failure = plan.checkConnection(hop.name, hop.address, verdict, {
                secure: false,
                extensions: new Set(),
                peerVerification: () => null,
              } as never);
              if (failure?.status === 'permanent') return sameOutcome(recipients, 'permanent', failure.reply, `${label}: ${failure.reason}`, hop.name);
              if (failure) lastTlsFailure = failure;
            }
            if (connection.stage === 'tls' && hopTls === 'opportunistic' && !signal.aborted) {
              hopTls = 'none';
              continue;
            }
            break;
          }
          const tlsFailure = pooled ? null : plan.checkConnection(hop.name, hop.address, verdict, connection);
          if (tlsFailure) {
            connection.quit();
            if (tlsFailure.status === 'permanent') return sameOutcome(recipients, 'permanent', tlsFailure.reply, `${label}: ${tlsFailure.reason}`, hop.name);
            failures.push(`${label}: ${tlsFailure.reason}`);
            lastTlsFailure = tlsFailure;
            break;
          }
          if (utf8 && !connection.extensions.has('SMTPUTF8')) {
            pool.give(key, connection);
            return sameOutcome(
              recipients,
              'permanent',
              reply(C.C553BadMailbox, SE.NonAsciiAddress7, 'The receiving server does not support internationalized mail (SMTPUTF8)'),
              `${label} does not offer SMTPUTF8`,
              hop.name,
            );
          }
          if (eightBit && !connection.extensions.has('8BITMIME')) {
            pool.give(key, connection);
            return sameOutcome(
              recipients,
              'permanent',
              reply(C.C554TransactionFailed, SE.ConversionUnsupported3, 'The receiving server does not accept 8-bit content (8BITMIME)'),
              `${label} does not offer 8BITMIME`,
              hop.name,
            );
          }
          if (relay?.limits.messagesPerSecond && !(await pacer.wait(relay.id, relay.limits.messagesPerSecond, hostSignal))) {
            pool.give(key, connection);
            failures.push(`${label}: deadline passed while pacing to ${relay.limits.messagesPerSecond} messages per second`);
            break;
          }
          const params = plan.envelopeParams(connection.extensions, recipients);
          const data = message.open();
          const result = await connection
            .send({ from, to: recipients, size: message.size, eightBit, smtpUtf8: utf8, ...params }, data, hostSignal)
            .finally(() => Buffer.isBuffer(data) || data.destroy());
          if (result.kind === 'broken' && !result.afterData) {
            connection.close();
            failures.push(`${label}: ${result.reason}`);
            // A pooled connection may have been closed by the server while idle: retry once fresh.
            if (pooled && !signal.aborted) continue;
            break;
          }
          if (result.kind === 'replies' && (await connection.reset(hostSignal))) pool.give(key, connection);
          else connection.close();
          const outcomes = outcomesOf(recipients, result, hop.name).map((o) =>
            o.status === 'delivered' ? { ...o, via: connection.extensions.has('DSN') ? ('relay-with-dsn' as const) : ('relay-without-dsn' as const) } : o,
          );
          log.debug('transaction finished', { remote: label, tls: connection.secure, outcomes: outcomes.map((o) => [o.recipient, o.status, o.reply.code]) });
          return outcomes;
        }
      }
      const reason = signal.aborted ? `deadline passed; ${failures.join('; ')}` : failures.join('; ') || 'no address to try';
      // Every host refused by the TLS policy: say so (the reason senders see in a delay or bounce).
      if (lastTlsFailure && failures.length === hops.length) return sameOutcome(recipients, 'transient', lastTlsFailure.reply, reason);
      return sameOutcome(recipients, 'transient', reply(C.C451LocalError, SE.NoAnswer1, 'No answer from the receiving mail servers'), reason);
    } finally {
      // The hosts' deadline timers end with the delivery (deadline-signal.ts says why).
      for (const d of deadlines) d.dispose();
      release();
    }
  }

  return {
    deliver,
    close: () => pool.closeAll(),
    // A large body is sent as it is read, except mail passed on for someone else: its ARC seal
    // (outbound-standards.ts) is computed over the whole message, which is then held whole.
    streams: (_destination, record) => !passedOnForSomeoneElse(record),
  };
}

// The message as it goes out: line ends CRLF and DKIM-signed with the bundle's keys when we
// vouch for it; a streamed body is signed in a pass of its own and read again to be sent
// (streamed-message.ts), a whole one signed in memory.
async function signedMessage(attempt: DeliveryAttempt, bundle: Bundle, secrets: BundleSecrets, dkim: boolean, log: Logger): Promise<OutgoingMessage> {
  const { body, record } = attempt;
  const sign = dkim && mayVouchFor(record);
  const mayUse = signingDomainRule(bundle, record);
  const sender = record.envelope.mailFrom.address;
  if (isStreamed(body)) {
    if (!sign) return await streamedMessage(body);
    const signed = await signatureHeaders(bundle, secrets, sender, await readHeaderSection(body), () => openCrlf(body), { mayUse });
    if (signed.errors.length > 0) log.warn('DKIM signing failed for some selectors', { errors: signed.errors });
    return await streamedMessage(withPrefix(body, signed.signatures));
  }
  const crlf = toCrlf(body);
  if (!sign) return wholeMessage(crlf);
  const signed = await signMessage(bundle, secrets, sender, crlf, { mayUse });
  if (signed.errors.length > 0) log.warn('DKIM signing failed for some selectors', { errors: signed.errors });
  return wholeMessage(signed.message);
}

// Per process, so a pool key (in memory only) says nothing about a password outside it.
const poolKeySecret = randomBytes(32);

/**
 * The key pooled connections are shared under: the relay's identity (namespace/name) and a
 * keyed hash of its credentials besides the address, port, SNI name, TLS mode and EHLO name,
 * so two tenants' relays to one host with one user name never share an authenticated
 * session, and a changed password never reuses one made with the old (docs/trust-model.md).
 */
export function poolKey(parts: {
  relayId: string | null;
  address: string;
  port: number;
  servername: string;
  tls: TlsMode;
  auth: { user: string; pass: string } | null | undefined;
  ehloName: string;
}): string {
  const credentials = parts.auth
    ? createHmac('sha256', poolKeySecret).update(parts.auth.user).update('\0').update(parts.auth.pass).digest('base64url').slice(0, 22)
    : '';
  return JSON.stringify([parts.relayId ?? '', parts.address, parts.port, parts.servername, parts.tls, parts.auth?.user ?? '', credentials, parts.ehloName]);
}

function hopsOf(hosts: readonly MailHost[], port: number): Hop[] {
  return hosts.flatMap((h) => h.addresses.map((address) => ({ name: h.name, address, port })));
}

function relayTlsMode(relay: BundleRelay): TlsMode {
  return relay.tls === 'implicit' ? 'implicit' : relay.tls === 'starttls' ? 'required' : 'none';
}

async function relayHosts(relay: BundleRelay, resolver: DnsResolver): Promise<MailHostsResult> {
  if (isIP(relay.host)) return { ok: true, hosts: [{ name: relay.host, addresses: [relay.host] }] };
  const addresses: string[] = [];
  let temporary = false;
  for (const lookup of [(host: string) => resolver.resolve4(host), (host: string) => resolver.resolve6(host)]) {
    try {
      addresses.push(...(await lookup(relay.host)));
    } catch (err) {
      if (classifyDnsError(err) === 'temporary') temporary = true;
    }
  }
  if (addresses.length > 0) return { ok: true, hosts: [{ name: relay.host, addresses }] };
  // A relay is our own configuration: a name that does not resolve is worth retrying
  // (the operator may fix it), so it never bounces mail.
  return {
    ok: false,
    status: 'transient',
    reply: reply(C.C451LocalError, SE.DirectoryFailure3, 'Could not look up the relay host'),
    reason: `relay ${relay.id}: ${relay.host} has no address${temporary ? ' (lookup failed)' : ''}`,
  };
}

/** Our EHLO name: the hostname of the sender's domain, else the fallback, else the first domain's. */
export function ehloNameFor(bundle: Bundle, sender: string, fallback?: string): string {
  const senderDomain = normalizeAddress(sender)?.domain;
  const own = senderDomain ? bundle.domains.find((d) => d.domain === senderDomain) : undefined;
  return own?.hostname ?? fallback ?? bundle.domains[0]?.hostname ?? osHostname();
}

function timeouts(options: RemoteSmtpOptions): Partial<SmtpClientOptions> {
  return {
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.greetingTimeoutMs ? { greetingTimeoutMs: options.greetingTimeoutMs } : {}),
    ...(options.socketTimeoutMs ? { socketTimeoutMs: options.socketTimeoutMs } : {}),
    ...(options.maxReplyBytes ? { maxReplyBytes: options.maxReplyBytes } : {}),
  };
}
