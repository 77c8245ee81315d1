// What the smtp-server hooks of one listener share (session-handlers.ts, session-auth.ts,
// session-data.ts): the listener's context, the state of each session, and the two ways a hook
// ends, the reply of a refusal and the login smtp-server recorded.
import type { SMTPServerSession } from 'smtp-server';
import type { Bundle, BundleDomain, BundleSecrets } from '../../../bundle/schema.ts';
import type { SmtpError } from '../errors.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { QueuePublisher } from '../queue/index.ts';
import type { ConnectionCounter } from './client-connections.ts';
import type { MemoryBudget } from './memory-budget.ts';
import type { IntakeObserver } from './intake-observer.ts';
import type { InboundChecksOptions } from './message-checks.ts';
import type { ListenerConfig } from './listener-config.ts';
import type { DnsblChecker, DnsblListing } from '../spam/dnsbl.ts';
import type { SpamFilter } from '../spam/rspamd.ts';
import type { SharedLimitSettings } from '../policy/shared-limits.ts';
import type { WindowCounters } from '../queue/shared-counters.ts';
import type { ScryptGate } from './scrypt-gate.ts';

export interface IntakeConfig {
  readonly bundle: Bundle;
  readonly secrets: BundleSecrets;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface HandlerContext {
  readonly listener: ListenerConfig;
  readonly hostname: string;
  readonly getConfig: () => IntakeConfig;
  readonly publisher: QueuePublisher;
  readonly clock: Clock;
  readonly observer: IntakeObserver;
  readonly logger: Logger;
  readonly connections: ConnectionCounter;
  /** SPF/DKIM/ARC/DMARC on the MX listener (message-checks.ts); null: not checked. */
  readonly inboundChecks?: InboundChecksOptions | null;
  /** DNS blocklists for the client address on the MX listener (docs/spam-checks.md §1); null: none. */
  readonly dnsbl?: DnsblChecker | null;
  /** The spam filter (rspamd) asked about each unauthenticated MX message (docs/spam-checks.md §2); null: none. */
  readonly spamFilter?: SpamFilter | null;
  /** Limits every pod shares (policy/shared-limits.ts); null: none. */
  readonly shared?: { readonly counters: WindowCounters; readonly settings: SharedLimitSettings } | null;
  /** The pod's cap on scrypt verifications at once; absent: no cap. */
  readonly scryptGate?: ScryptGate | null;
  /** True while the queue's store is near full (queue/store-pressure.ts). */
  readonly storeNearFull?: () => boolean;
  /** Bytes of message data this process may hold (memory-budget.ts), shared by every listener. */
  readonly memoryBudget?: MemoryBudget;
  /** Past this many bytes a message goes to the Object Store during DATA (body-streaming.ts); absent: held whole. */
  readonly streamThresholdBytes?: number;
}

export interface SessionState {
  readonly config: IntakeConfig;
  readonly log: Logger;
  authFailures: number;
  /** Domains of the accepted recipients of the current transaction (null: relayed). */
  domains: (BundleDomain | null)[];
  declaredSize: number | null;
  /** The blocklist lookup started at connect, answered at MAIL (null: not checked). */
  listing: Promise<DnsblListing | null> | null;
  /** RCPT commands accepted in this transaction, repeats included (smtp-server keeps a repeated address once). */
  rcptCommands: number;
  /** RCPT commands refused in this session (session.maxFailedRecipients). */
  failedRcpts: number;
  /** The login and the password hash it was verified against, re-checked at each MAIL. */
  login: { user: string; hash: string } | null;
}

export type Done = (err?: Error | null) => void;

/** What every hook of one listener gets: its context, its name, the state of a session and the refusal reply. */
export interface HookKit {
  readonly ctx: HandlerContext;
  readonly name: string;
  /** The state of an open session; throws a local error when there is none. */
  readonly state: (session: SMTPServerSession) => SessionState;
  /** The reply for a refused (or failed) step, counted and logged. */
  readonly reject: (verb: string, log: Logger, err: unknown) => SmtpError;
}

export function userOf(session: SMTPServerSession): string {
  return typeof session.user === 'string' ? session.user : '';
}
