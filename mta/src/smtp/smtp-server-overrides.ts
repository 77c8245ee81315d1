// The six changes Stafette makes to smtp-server's behaviour, all installed from this one file:
// SMTPConnection's init() is replaced for 1 and 5, its send() for 2-5, and SMTPStream's data
// path for 6 (single-dot-lines.ts); see README.md in this folder for the why and the numbers.
//
// 1. The greeting pause. SMTPConnection.init() waits a hard-coded 100 ms before it sends the
//    220 greeting (early-talker detection: a client that speaks first gets "421 You talk too
//    soon"). It is not an option. With one message per session that caps each connection at
//    ~10 messages/s (docs/performance.md §5: ~194 msg/s with it, ~1,800 without). We replace init()
//    with the same code whose delay comes from the listener's option `greetingDelayMs`
//    (smtp-server's own 100 ms when the option is absent, so any other SMTPServer in the
//    process keeps the upstream behaviour). 0 sends the greeting at once.
//
// 2. Enhanced status codes of application errors. smtp-server replies to an error from
//    onMailFrom/onRcptTo/onData/onAuth with `err.responseCode` and `err.message`, and adds an
//    enhanced code chosen from the reply code alone (550 -> 5.1.1 even for a relay refusal).
//    SmtpError puts its own enhanced code at the start of its message; the replaced send()
//    sees that and lets it stand instead of adding a second one.
//
// 3. AUTH is not advertised before TLS. smtp-server lists AUTH in every EHLO reply and refuses
//    it with 538 until STARTTLS; with the option `hideAuthBeforeTls` the replaced send() drops
//    the AUTH line from the EHLO reply of a connection that is not encrypted yet (RFC 4954 §4,
//    as Postfix smtpd_tls_auth_only and chasquid do). AUTH sent anyway still gets 538.
//
// 4. smtp-server's own refusals are counted. Every 4xx/5xx reply smtp-server makes up itself
//    (syntax, sequence, its SIZE check, early talkers) is reported through the option
//    `onProtocolRefusal`, so the metrics see them beside the refusals our rules make.
//
// 5. Session limits (session-watchdog.ts). The replaced init() starts the watchdog (deadline,
//    DATA rate) of each connection; the replaced send() counts its error replies and sends
//    421 4.7.0 instead of the one past the budget. Options `sessionLimits`.
//
// 6. A single leading dot is removed from body lines (single-dot-lines.ts, RFC 5321 §4.5.2).
//
// Why an override and not patch-package: it needs no install-time step (works with `npm ci
// --ignore-scripts` and in the image build), it is per listener, and it fails loudly instead
// of silently: installSmtpServerOverrides() checks that the upstream code it replaces is the
// code it was written against (`upstreamFingerprints`), and throws at start-up (and in the
// unit test) if an smtp-server upgrade changed it. Then re-read init() and update both.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { C } from '../codes.ts';
import { errorBudget, watchSession, type SessionLimitsOption } from './session-watchdog.ts';
import { installSingleDotLines } from './single-dot-lines.ts';

/** Option added to SMTPServerOptions: milliseconds before the 220 greeting (0 = none). */
export interface GreetingDelayOption {
  greetingDelayMs?: number;
}

/**
 * Option added to SMTPServerOptions: called for each 4xx/5xx reply smtp-server makes up itself
 * (syntax errors, bad sequence, its own SIZE check, early talkers); our SmtpErrors are counted
 * where they are made. For the metrics seam.
 */
export interface ProtocolRefusalOption {
  onProtocolRefusal?: (code: number) => void;
}

/** Option added to SMTPServerOptions: leave AUTH out of EHLO until the connection uses TLS. */
export interface HideAuthBeforeTlsOption {
  hideAuthBeforeTls?: boolean;
}

// The upstream source text this module replaces; checked at install time.
export const upstreamFingerprints = {
  init: ['this._setListeners(', 'this._server.options.maxClients', 'Too many connected clients', 'setTimeout(() => this.connectionReady(), 100)'],
  send: ['send(code, data, context)', 'this._getEnhancedStatusCode(code, context)'],
  handler_EHLO: [
    "features.push(['AUTH'].concat(this._server.options.authMethods).join(' '))",
    'this.send(250, [formattedResponse].concat(features || []), false)',
  ],
} as const;

/** The smtp-server default the replaced init() keeps when a listener sets no delay. */
export const upstreamGreetingDelayMs = 100;

// The private members of SMTPConnection the replacements use.
interface ConnectionInternals {
  _server: {
    options: GreetingDelayOption & HideAuthBeforeTlsOption & ProtocolRefusalOption & SessionLimitsOption & { maxClients?: number };
    connections: Set<unknown>;
  };
  name: string;
  secure: boolean;
  _closing?: boolean;
  _closed?: boolean;
  _parser?: { _dataMode?: boolean; dataBytes?: number } | false;
  _setListeners(callback: () => void): void;
  connectionReady(): void;
  send(code: number, data?: string | string[], context?: string | false): void;
  init(): void;
}

/** A timer function; injectable so a test can see whether the greeting waited for one. */
export type ScheduleGreeting = (run: () => void, delayMs: number) => void;

const scheduleWithTimer: ScheduleGreeting = (run, delayMs) => {
  // Unref: a pending greeting must not keep the process alive (as upstream).
  setTimeout(run, delayMs).unref();
};

/** The replacement of SMTPConnection.prototype.init, with the delay read from the listener's options. */
export function initWithGreetingDelay(this: ConnectionInternals, schedule: ScheduleGreeting = scheduleWithTimer): void {
  this._setListeners(() => {
    const options = this._server.options;
    if (options.maxClients && this._server.connections.size > options.maxClients) {
      this.send(C.C421ServiceUnavailable, `${this.name} Too many connected clients, try again in a moment`, false);
      return;
    }
    const delay = greetingDelayOf(options);
    if (delay <= 0) {
      this.connectionReady();
      return;
    }
    schedule(() => this.connectionReady(), delay);
  });
}

export function greetingDelayOf(options: GreetingDelayOption): number {
  const d = options.greetingDelayMs;
  return typeof d === 'number' && Number.isFinite(d) && d >= 0 ? d : upstreamGreetingDelayMs;
}

// "5.1.1 text" / "4.3.0 text": a message that already starts with an enhanced code (RFC 3463).
const enhancedPrefix = /^[245]\.\d{1,3}\.\d{1,3} /;

/** Whether send() should leave out its own enhanced code because the text carries one. */
export function carriesEnhancedCode(data: unknown, context: unknown): boolean {
  return context === undefined && typeof data === 'string' && enhancedPrefix.test(data);
}

// The upstream methods as loaded, before any replacement: what checkUpstream() inspects.
// They are kept unbound on purpose: the overrides call them with the connection as `this`.
/* eslint-disable @typescript-eslint/unbound-method */
const upstreamMethods: Record<string, unknown> = {
  init: SMTPConnection.prototype.init,
  send: SMTPConnection.prototype.send,
  _setListeners: (SMTPConnection.prototype as unknown as Record<string, unknown>)._setListeners,
  connectionReady: SMTPConnection.prototype.connectionReady,
  handler_EHLO: (SMTPConnection.prototype as unknown as Record<string, unknown>).handler_EHLO,
};
/* eslint-enable @typescript-eslint/unbound-method */

/** The EHLO reply lines to send: without "AUTH ..." on an unencrypted connection when the option is set. */
export function ehloLinesShown(code: number, data: unknown, context: unknown, secure: boolean, options: HideAuthBeforeTlsOption): unknown {
  if (code !== C.C250OK || context !== false || !Array.isArray(data) || secure || !options.hideAuthBeforeTls) return data;
  return data.filter((line) => !(typeof line === 'string' && /^AUTH /.test(line)));
}

let installed = false;

/** Replaces init() and send() on SMTPConnection once per process; throws if upstream changed. */
export function installSmtpServerOverrides(): void {
  if (installed) return;
  const proto = SMTPConnection.prototype as unknown as ConnectionInternals;
  const problems = checkUpstream();
  if (problems.length > 0) {
    throw new Error(`smtp-server changed; mta/src/smtp/smtp-server-overrides.ts must be reviewed: ${problems.join('; ')}`);
  }
  const originalSend = upstreamMethods.send as ConnectionInternals['send'];
  const budgets = new WeakMap<ConnectionInternals, ReturnType<typeof errorBudget>>();
  proto.init = function init(this: ConnectionInternals) {
    initWithGreetingDelay.call(this);
    budgets.set(this, errorBudget(this._server.options.sessionLimits));
    watchSession(
      {
        closed: () => this._closing === true || this._closed === true,
        dataBytes: () => (this._parser && this._parser._dataMode ? (this._parser.dataBytes ?? 0) : null),
        refuse: (error) => this.send(error.responseCode, error.message),
      },
      this._server.options.sessionLimits,
    );
  };
  proto.send = function send(this: ConnectionInternals, code, data, context) {
    const options = this._server.options;
    const overBudget = budgets.get(this)?.(code);
    if (overBudget) return originalSend.call(this, overBudget.responseCode, overBudget.message, false);
    const shown = ehloLinesShown(code, data, context, this.secure, options) as typeof data;
    const ours = carriesEnhancedCode(shown, context);
    if (!ours && code >= 400) options.onProtocolRefusal?.(code);
    return originalSend.call(this, code, shown, ours ? false : context);
  };
  installSingleDotLines();
  installed = true;
}

/** What differs between the installed smtp-server and the code the overrides replace. */
export function checkUpstream(methods: Record<string, unknown> = upstreamMethods): string[] {
  const problems: string[] = [];
  for (const [method, needles] of Object.entries(upstreamFingerprints)) {
    const fn = methods[method];
    const source = typeof fn === 'function' ? fn.toString() : '';
    for (const needle of needles) if (!source.includes(needle)) problems.push(`${method}() no longer contains ${JSON.stringify(needle)}`);
  }
  for (const method of ['_setListeners', 'connectionReady']) {
    if (typeof methods[method] !== 'function') problems.push(`${method}() is gone`);
  }
  return problems;
}
