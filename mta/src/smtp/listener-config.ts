// What each SMTP listener is and how it behaves. Three by default, on unprivileged ports so
// pods run as non-root; the Service maps 25 -> 2525, 587 -> 2587, 465 -> 2465
// (docs/reliability.md §3 scenario 51).
//
//   mx           MX for our domains: STARTTLS offered, no AUTH, accepts only existing local
//                recipients, relays for nobody. Keeps smtp-server's 100 ms greeting pause
//                (early-talker check) and looks up the client's reverse DNS for the Received
//                header: Internet senders are not throughput-bound per connection, so 100 ms
//                per session costs them nothing, and a bot that talks before the banner gets 421.
//   submission   port 587 for our users: STARTTLS, then AUTH PLAIN/LOGIN (never before TLS),
//                then relay to anywhere from the user's own sendAs addresses. No pause, no
//                reverse DNS: both are pure latency for an authenticated client.
//   submissions  port 465, the same as submission over implicit TLS (RFC 8314).
import { defaultMessageLimits, type MessageLimits } from '../policy/message-limits.ts';

export type ListenerRole = 'mx' | 'submission';

export interface ListenerConfig {
  /** Label in queue records, logs and metrics: "mx", "submission", "submissions". */
  readonly name: string;
  readonly role: ListenerRole;
  readonly host: string;
  /** 0 picks a free port (tests); addresses() reports the real one. */
  readonly port: number;
  /** STARTTLS offered on a plain connection, or TLS from the first byte. */
  readonly tls: 'starttls' | 'implicit';
  /** Pause before the 220 greeting; a client that talks during it gets 421 (smtp-server-overrides.ts). */
  readonly greetingDelayMs: number;
  /** Look up the client's PTR name (shown in Received) with the injected resolver. */
  readonly reverseDns: boolean;
  /** Connections this listener serves at once; more get 421 (smtp-server maxClients). */
  readonly maxClients: number;
  /** Connections one client IP may hold open on this listener; more get 421 4.7.0. */
  readonly maxConnectionsPerIp: number;
  /** Idle time before 421 (smtp-server socketTimeout). */
  readonly socketTimeoutMs: number;
  /** Failed AUTH attempts per session before 421 (RFC 4954 has no limit; chasquid: 3). */
  readonly maxAuthFailures: number;
  readonly limits: MessageLimits;
  /** Deadline, data rate and error budget of one session (session-watchdog.ts). */
  readonly session: SessionLimits;
  /** Source ranges (CIDR) whose connections start with a PROXY v1/v2 header (proxy-protocol.ts); empty: no PROXY. */
  readonly proxyFrom: readonly string[];
}

/** What one session may cost at most (docs/reliability.md §1); enforced in session-watchdog.ts and session-handlers.ts. */
export interface SessionLimits {
  /** Wall-clock time from connect; then 421 4.4.2 and close, whatever the client is doing (slowloris). */
  readonly deadlineMs: number;
  /** Bytes per second DATA must average over each `dataRateWindowMs`; slower gets 421 4.4.2. 0: no minimum. */
  readonly minDataRate: number;
  readonly dataRateWindowMs: number;
  /** Refused RCPTs per session; the one after gets 421 4.7.0 (directory harvesting). */
  readonly maxFailedRecipients: number;
  /** 4xx/5xx replies per session (ours and smtp-server's); the one after is 421 4.7.0 (Postfix smtpd_hard_error_limit 20). */
  readonly maxErrors: number;
}

export const defaultSessionLimits: SessionLimits = {
  deadlineMs: 30 * 60_000,
  minDataRate: 1024,
  dataRateWindowMs: 30_000,
  maxFailedRecipients: 20,
  maxErrors: 20,
};

const common = {
  host: '0.0.0.0',
  maxClients: 1000,
  maxConnectionsPerIp: 20,
  socketTimeoutMs: 60_000,
  maxAuthFailures: 3,
  limits: defaultMessageLimits,
  session: defaultSessionLimits,
  proxyFrom: [],
} as const;

export const defaultListenerConfigs: Readonly<Record<'mx' | 'submission' | 'submissions', ListenerConfig>> = {
  mx: { ...common, name: 'mx', role: 'mx', port: 2525, tls: 'starttls', greetingDelayMs: 100, reverseDns: true },
  submission: { ...common, name: 'submission', role: 'submission', port: 2587, tls: 'starttls', greetingDelayMs: 0, reverseDns: false },
  submissions: { ...common, name: 'submissions', role: 'submission', port: 2465, tls: 'implicit', greetingDelayMs: 0, reverseDns: false },
};

/** A listener from one of the defaults with some fields changed, e.g. listenerConfig('mx', { port: 0 }). */
export function listenerConfig(base: keyof typeof defaultListenerConfigs, changes: Partial<ListenerConfig> = {}): ListenerConfig {
  const merged = { ...defaultListenerConfigs[base], ...changes };
  return {
    ...merged,
    limits: { ...defaultListenerConfigs[base].limits, ...changes.limits },
    session: { ...defaultListenerConfigs[base].session, ...changes.session },
  };
}

/** The three default listeners, with fields common to all changed (e.g. { host: '127.0.0.1' }). */
export function defaultListeners(changes: Partial<ListenerConfig> = {}): ListenerConfig[] {
  return (['mx', 'submission', 'submissions'] as const).map((name) => listenerConfig(name, changes));
}
