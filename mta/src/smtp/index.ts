// The SMTP intake: listeners that accept mail, apply the policy, and answer 250 only after the
// queue acknowledged the message. Public surface for main wiring, the CLI and the tests.
//
//   const intake = createIntake({
//     listeners: defaultListeners(),                  // mx 2525, submission 2587, submissions 2465
//     getConfig: () => ({ bundle, secrets }),         // the current bundle; called per new session
//     publisher,                                      // createPublisher() from mta/src/queue
//     hostname: 'mx.example.com',                     // EHLO/greeting name; default: first domain's hostname
//     clock, resolver, observer, logger,              // all optional, all injected I/O
//     defaultTls: { certPem, keyPem },                // optional; else self-signed at listen()
//   });
//   await intake.listen();                            // binds every listener
//   intake.addresses();                               // { mx: { host, port }, ... } (real ports when 0)
//   await intake.close(30_000);                       // stop accepting; sessions in flight may finish
//                                                     // their current message; after the deadline 421
//
// How a session goes (details in the files named):
//   any time    session deadline, minimum DATA rate, error budget: 421 (session-watchdog.ts);
//               idle time: smtp-server's socketTimeout.
//   PROXY       on listeners with trusted ranges, a v1/v2 header gives the client address
//               (proxy-protocol.ts); from anyone else a PROXY line gets 421 and close.
//   connect     per-IP (per /64) connection limit (client-connections.ts), greeting pause and reverse DNS
//               per listener (smtp-server-overrides.ts, listener-config.ts); the session keeps
//               the bundle it started with.
//   STARTTLS    certificate by SNI from the current bundle (certificate-selector.ts).
//   AUTH        submission only, only after TLS (smtp-server answers 538 before); PLAIN/LOGIN
//               against the bundle's scrypt hashes, off the event loop; 3 failures -> 421.
//   MAIL/RCPT   pure verdicts from mta/src/policy (recipient exists, relay, sendAs, SIZE, count);
//               at MAIL the login is re-checked against the bundle in force (530 when revoked);
//               refused RCPTs per session are limited (421 4.7.0).
//   DATA        normalise stray CR/LF, check size/header/line/hop limits, add Received (and
//               Date/Message-ID on submission), enqueue; 250 after the PubAck, else 451/452.
//               On MX, SPF/DKIM/ARC/DMARC read the normalised stream as it arrives and decide
//               before the final reply (message-checks.ts): Authentication-Results added after
//               Received, forged ones removed, 550/451 5.7.x/4.7.x per inbound.dmarc.
//   DNSBL       on MX, the client address is looked up in the configured blocklists at connect;
//               a listed client gets 554 5.7.1 with the list's text at MAIL (mta/src/spam/dnsbl.ts).
//   spam        on MX, after the inbound checks, rspamd scores the message: X-Spam-Status and
//               X-Spamd-Result added, 550 5.7.1 over the reject score, 451 4.7.1 or accept when
//               rspamd does not answer (mta/src/spam/rspamd.ts).
// Every refusal is an SmtpError (mta/src/errors.ts) with a named code (mta/src/codes.ts).
import { createMemoryBudget, defaultMemoryBudgetBytes } from './memory-budget.ts';
import { promises as dns } from 'node:dns';
import { hostname as osHostname } from 'node:os';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { ReverseResolver } from '../dns.ts';
import type { Logger } from '../../../observability/logger.ts';
import { defaultStreamThresholdBytes } from './body-streaming.ts';
import { silentLogger } from '../../../observability/logger.ts';
import { serviceUnavailable } from '../policy/rejections.ts';
import type { QueuePublisher } from '../queue/index.ts';
import { createCertificateSelector, serverTlsPolicy } from './certificate-selector.ts';
import { createConnectionCounter } from './client-connections.ts';
import { ignoreIntakeEvents, type IntakeObserver } from './intake-observer.ts';
import type { ListenerConfig } from './listener-config.ts';
import type { InboundChecksOptions } from './message-checks.ts';
import type { DnsblChecker } from '../spam/dnsbl.ts';
import type { SpamFilter } from '../spam/rspamd.ts';
import { generateSelfSignedCertificate, type TlsMaterial } from './self-signed-certificate.ts';
import type { SessionLimitsOption } from './session-watchdog.ts';
import { defaultSharedLimits, type SharedLimitSettings } from '../policy/shared-limits.ts';
import type { WindowCounters } from '../queue/shared-counters.ts';
import { createScryptGate } from './scrypt-gate.ts';
import { installProxyCommandRefusal, installProxyProtocol, trustedRanges } from './proxy-protocol.ts';
import { createSessionHandlers, maxSizeOf, type Clock, type IntakeConfig } from './session-handlers.ts';
import { installSmtpServerOverrides, type GreetingDelayOption, type HideAuthBeforeTlsOption, type ProtocolRefusalOption } from './smtp-server-overrides.ts';

export { defaultListenerConfigs, defaultListeners, listenerConfig } from './listener-config.ts';
export type { ListenerConfig, ListenerRole } from './listener-config.ts';
export type { Clock, IntakeConfig } from './session-handlers.ts';
export type { InboundChecksOptions, InboundCheckObserver } from './message-checks.ts';
export type { TlsMaterial } from './self-signed-certificate.ts';
export { generateSelfSignedCertificate } from './self-signed-certificate.ts';

export interface IntakeOptions {
  readonly listeners: readonly ListenerConfig[];
  /** The bundle in force now. Called once per new session; must not throw. */
  readonly getConfig: () => IntakeConfig;
  readonly publisher: QueuePublisher;
  /** Our name in the greeting, EHLO reply and Received; default: the first domain's hostname, else the OS hostname. */
  readonly hostname?: string;
  readonly clock?: Clock;
  /** Reverse DNS for the Received header (the process's resolver, mta/src/dns.ts); node:dns by default. */
  readonly resolver?: ReverseResolver;
  readonly observer?: IntakeObserver;
  readonly logger?: Logger;
  /** SPF, DKIM, ARC and DMARC on the MX listener (message-checks.ts); absent: not checked. */
  readonly inboundChecks?: InboundChecksOptions | null;
  /** DNS blocklists asked for the client address of MX sessions (mta/src/spam/dnsbl.ts); absent: none. */
  readonly dnsbl?: DnsblChecker | null;
  /** rspamd asked about each MX message after DATA (mta/src/spam/rspamd.ts); absent: none. */
  readonly spamFilter?: SpamFilter | null;
  /** True while the queue's store is near full (queue/store-pressure.ts): new mail gets 452 4.3.1 at MAIL. */
  readonly storeNearFull?: () => boolean;
  /** Bytes of message data the process may hold at once (memory-budget.ts); default defaultMemoryBudgetBytes. */
  readonly memoryBudgetBytes?: number;
  /** A message past this many bytes is streamed to the Object Store during DATA (body-streaming.ts); default defaultStreamThresholdBytes. */
  readonly streamThresholdBytes?: number;
  /** The platform's certificate, for clients without SNI or with an unknown name (certificate-selector.ts); default: the domain of our hostname's, else self-signed, generated at listen(). */
  readonly defaultTls?: TlsMaterial | null;
  /** Limits every pod shares, counted in the JetStream KV bucket (queue/shared-counters.ts); absent: none. */
  readonly sharedLimits?: { readonly counters: WindowCounters; readonly settings?: Partial<SharedLimitSettings> } | null;
}

export interface ListenerAddress {
  readonly host: string;
  readonly port: number;
}

export interface Intake {
  /** Binds every listener; rejects if one cannot bind (the others are closed again). */
  listen(): Promise<void>;
  /** Bound addresses by listener name. */
  addresses(): Record<string, ListenerAddress>;
  /** Bytes of the memory budget in use now, and its capacity (memory-budget.ts). */
  memory(): { readonly used: number; readonly capacity: number };
  /**
   * Stops accepting connections at once. Sessions in flight may finish the message they are
   * sending (a new command gets 421); at `deadlineMs` the rest get 421 and are closed.
   */
  close(deadlineMs: number): Promise<void>;
}

export function createIntake(opts: IntakeOptions): Intake {
  installSmtpServerOverrides();
  installProxyCommandRefusal();
  const logger = opts.logger ?? silentLogger;
  const observer = opts.observer ?? ignoreIntakeEvents;
  const clock = opts.clock ?? { now: () => Date.now() };
  const resolver = opts.resolver ?? { reverse: (ip: string) => dns.reverse(ip) };
  const hostname = opts.hostname ?? opts.getConfig().bundle.domains[0]?.hostname ?? osHostname();
  const servers = new Map<string, SMTPServer>();
  const sharedSettings: SharedLimitSettings = { ...defaultSharedLimits, ...opts.sharedLimits?.settings };
  const shared = opts.sharedLimits ? { counters: opts.sharedLimits.counters, settings: sharedSettings } : null;
  // One gate for every listener of the pod: they share the thread pool scrypt runs on.
  const scryptGate = createScryptGate(sharedSettings.scryptConcurrency, sharedSettings.scryptQueue);
  // One budget for every listener of the process (docs/reliability.md "Limits").
  const memoryBudget = createMemoryBudget(opts.memoryBudgetBytes ?? defaultMemoryBudgetBytes);

  async function defaultTls(): Promise<TlsMaterial> {
    if (opts.defaultTls) return opts.defaultTls;
    logger.warn('no default TLS certificate configured: using a self-signed one for clients without SNI or without a bundle certificate', { hostname });
    return await generateSelfSignedCertificate([hostname]);
  }

  function createServer(listener: ListenerConfig, fallbackTls: TlsMaterial): SMTPServer {
    const log = logger.child({ listener: listener.name });
    const certificates = createCertificateSelector(opts.getConfig, { material: fallbackTls, configured: Boolean(opts.defaultTls), hostname }, log);
    const handlers = createSessionHandlers({
      listener,
      hostname,
      getConfig: opts.getConfig,
      publisher: opts.publisher,
      clock,
      observer,
      logger: log,
      connections: createConnectionCounter(listener.maxConnectionsPerIp),
      inboundChecks: opts.inboundChecks ?? null,
      dnsbl: opts.dnsbl ?? null,
      spamFilter: opts.spamFilter ?? null,
      shared,
      scryptGate,
      ...(opts.storeNearFull ? { storeNearFull: opts.storeNearFull } : {}),
      streamThresholdBytes: opts.streamThresholdBytes ?? defaultStreamThresholdBytes,
      memoryBudget,
    });
    let tlsInUse = certificates.defaultMaterial();
    const options: SMTPServerOptions & GreetingDelayOption & HideAuthBeforeTlsOption & ProtocolRefusalOption & SessionLimitsOption = {
      name: hostname,
      banner: 'Stafette',
      secure: listener.tls === 'implicit',
      key: tlsInUse.keyPem,
      cert: tlsInUse.certPem,
      ...serverTlsPolicy,
      SNICallback: (servername, cb) => certificates.sniCallback(servername, cb),
      size: maxSizeOf(opts.getConfig().bundle, listener),
      hideSize: false,
      hideENHANCEDSTATUSCODES: false,
      // DSN (RFC 3461): NOTIFY/ORCPT/RET/ENVID taken and honoured by delivery (mta/src/dsn/).
      hideDSN: false,
      hideSTARTTLS: false,
      // REQUIRETLS (RFC 8689): smtp-server offers it over TLS only and refuses it in plaintext.
      hideREQUIRETLS: false,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: listener.role === 'mx' ? ['AUTH'] : [],
      authOptional: listener.role === 'mx',
      allowInsecureAuth: false,
      disableReverseLookup: !listener.reverseDns,
      resolver: {
        reverse: (ip: string, cb: (err: Error | null, hostnames?: string[]) => void) => {
          resolver.reverse(ip).then(
            (names) => cb(null, names),
            (err: Error) => cb(err),
          );
        },
      },
      maxClients: listener.maxClients,
      socketTimeout: listener.socketTimeoutMs,
      greetingDelayMs: listener.greetingDelayMs,
      hideAuthBeforeTls: true,
      // smtp-server's own refusals (501 syntax, 503 sequence, 552 SIZE at MAIL, 421 early talker, ...).
      onProtocolRefusal: (code) => observer.rejected(listener.name, `smtp_${code}`),
      // Deadline, DATA rate and error budget per session (session-watchdog.ts).
      sessionLimits: { ...listener.session, onLimit: (rule) => observer.rejected(listener.name, rule) },
      logger: false,
      onConnect(session, done) {
        // The bundle may have changed: the SIZE we announce and the certificate for clients
        // without SNI follow it for this and later sessions.
        try {
          const config = opts.getConfig();
          server.options.size = maxSizeOf(config.bundle, listener);
          const material = certificates.defaultMaterial();
          if (material !== tlsInUse) {
            tlsInUse = material;
            server.updateSecureContext({ key: material.keyPem, cert: material.certPem });
          }
        } catch (err) {
          // Never let a configuration problem escape into smtp-server (it would end the process).
          log.error('cannot serve a session: configuration unavailable', { err });
          done(serviceUnavailable('getConfig() or the TLS refresh failed', err));
          return;
        }
        handlers.onConnect(session, done);
      },
      onClose: (session) => handlers.onClose(session),
      onAuth: (auth, session, done) => handlers.onAuth(auth, session, done),
      onMailFrom: (address, session, done) => handlers.onMailFrom(address, session, done),
      onRcptTo: (address, session, done) => handlers.onRcptTo(address, session, done),
      onData: (stream, session, done) => handlers.onData(stream, session, done),
    };
    const server = new SMTPServer(options);
    // PROXY v1/v2 from the listener's trusted ranges only (proxy-protocol.ts).
    if (listener.proxyFrom.length > 0) installProxyProtocol(server, trustedRanges(listener.proxyFrom));
    // A client's TCP reset arrives here as 'error'; unhandled it would end the process
    // (docs/reliability.md §2 F11). Log it and keep serving.
    server.on('error', (err: Error & { code?: string }) => {
      log.debug('connection error', { code: err.code, err });
      observer.rejected(listener.name, 'connection_error');
    });
    return server;
  }

  return {
    async listen() {
      const tls = await defaultTls();
      for (const listener of opts.listeners) {
        if (servers.has(listener.name)) throw new Error(`two listeners named ${listener.name}`);
        const server = createServer(listener, tls);
        servers.set(listener.name, server);
        try {
          await new Promise<void>((resolve, reject) => {
            server.server.once('error', reject);
            server.listen(listener.port, listener.host, () => {
              server.server.off('error', reject);
              resolve();
            });
          });
        } catch (err) {
          await closeAll(servers, 0);
          throw err;
        }
        const address = server.server.address();
        logger.info('SMTP listener ready', {
          listener: listener.name,
          role: listener.role,
          tls: listener.tls,
          address,
          greetingDelayMs: listener.greetingDelayMs,
          reverseDns: listener.reverseDns,
        });
      }
    },
    memory: () => ({ used: memoryBudget.used(), capacity: memoryBudget.capacity }),
    addresses() {
      const out: Record<string, ListenerAddress> = {};
      for (const [name, server] of servers) {
        const a = server.server.address();
        if (a && typeof a === 'object') out[name] = { host: a.address, port: a.port };
      }
      return out;
    },
    async close(deadlineMs) {
      await closeAll(servers, deadlineMs);
    },
  };
}

async function closeAll(servers: Map<string, SMTPServer>, deadlineMs: number): Promise<void> {
  await Promise.all(
    [...servers.values()].map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.server.listening) return resolve();
          // smtp-server reads closeTimeout when close() starts: the grace period for sessions in flight.
          server.options.closeTimeout = Math.max(1, deadlineMs);
          server.close(() => resolve());
        }),
    ),
  );
  servers.clear();
}
