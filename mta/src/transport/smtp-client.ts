// One SMTP or LMTP client connection, with promises, a deadline and a reply-size cap, built
// on nodemailer's SMTPConnection (its protocol code: EHLO/LHLO, STARTTLS, AUTH, PIPELINING,
// dot-stuffing, per-recipient LMTP replies).
//
// What this adds around it:
//  - every wait is bounded by the caller's AbortSignal (the transaction deadline): on abort
//    the socket is destroyed and the pending step resolves as "broken";
//  - a hostile server cannot make us buffer without bound (docs/reliability.md §2 F7, scenario 38):
//    nodemailer 10 drops the connection once one reply exceeds `maxResponseSize`, which we
//    set to `maxReplyBytes` (64 KiB: a 1 MB line, or endless "250-" continuation lines, both
//    count toward it), and idle waits end at `socketTimeoutMs`;
//  - the EHLO extensions are parsed from the EHLO reply, so callers can refuse to send what
//    the next hop cannot take (SMTPUTF8, 8BITMIME);
//  - results come back as TransactionResult (smtp-client-reply.ts), never as thrown errors.
//
// Outbound bare CR (docs/reliability.md §2 F2): nodemailer 10's DataStream turns a bare CR or LF into
// CRLF and stuffs dots after either, so no "\r.\r" reaches the wire; the transports also
// normalise line ends before DKIM signing (smtp-client-message.ts) so the signature covers
// exactly what is sent.
import { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { C, SE, enhancedCode } from '../codes.ts';
import { peerVerification, type PeerVerification } from '../outbound-tls/trust-store.ts';
import type { TransactionResult } from './smtp-client-reply.ts';

export type TlsMode = 'opportunistic' | 'required' | 'implicit' | 'none';

export interface SmtpClientOptions {
  /** Address (or name) to connect to. */
  readonly host: string;
  readonly port: number;
  /** The name the TLS certificate is checked against and sent as SNI (the MX host name). */
  readonly servername?: string;
  /** Our EHLO/LHLO name (the sending domain's hostname). */
  readonly ehloName: string;
  readonly tls: TlsMode;
  /** Options for tls.connect, e.g. a CA for a relay, or rejectUnauthorized: false. */
  readonly tlsOptions?: ConnectionOptions;
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly lmtp?: boolean;
  readonly connectTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  /** Longest silence from the server inside a step. */
  readonly socketTimeoutMs?: number;
  /** Largest reply accepted, in bytes; a larger one drops the connection. */
  readonly maxReplyBytes?: number;
}

export const defaultMaxReplyBytes = 64 * 1024;

export interface SmtpEnvelope {
  /** "" for the null sender. */
  readonly from: string;
  readonly to: readonly string[];
  readonly size: number;
  readonly eightBit: boolean;
  /** Declare SMTPUTF8 on MAIL FROM (UTF-8 in the header section or the addresses, RFC 6531). */
  readonly smtpUtf8?: boolean;
  /** More MAIL FROM parameters (RET=, ENVID=, REQUIRETLS), already encoded; the caller checks the extensions. */
  readonly mailParams?: readonly string[];
  /** RCPT TO parameters (NOTIFY=, ORCPT=) per recipient, already encoded. */
  readonly rcptParams?: ReadonlyMap<string, readonly string[]>;
}

/** Why opening a connection failed; the caller tries the next host. */
export interface OpenFailure {
  readonly ok: false;
  readonly reason: string;
  /** A reply the server sent (a 4xx/5xx greeting, EHLO or AUTH refusal), if any. */
  readonly reply?: string;
  readonly stage: 'connect' | 'greeting' | 'tls' | 'auth';
}

interface NodemailerError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

/** nodemailer's transaction state, read in one place: RCPT refusals survive a DATA failure there. */
interface EnvelopeState {
  _envelope?: { rejectedErrors?: NodemailerError[]; accepted?: string[] } | false;
}

/** nodemailer's command writer and LMTP reply handler, wrapped per transaction (see `send`). */
interface CommandWriter {
  _sendCommand(str: string, logStr?: string): void;
  _actionLMTPStream(recipient: string, final: boolean, str: string, callback: unknown): void;
}

export class SmtpClientConnection {
  readonly options: SmtpClientOptions;
  /** Upper-cased EHLO keywords (PIPELINING, SMTPUTF8, 8BITMIME, SIZE, STARTTLS, ...). */
  readonly extensions: ReadonlySet<string>;
  /** Whether the session runs over TLS (implicit or after STARTTLS). */
  readonly secure: boolean;
  /** "host:port" for logs and DSNs. */
  readonly remote: string;
  private readonly connection: SMTPConnection;
  private closedFlag = false;
  messagesSent = 0;

  private constructor(options: SmtpClientOptions, connection: SMTPConnection, extensions: Set<string>) {
    this.options = options;
    this.connection = connection;
    this.extensions = extensions;
    this.secure = connection.secure;
    this.remote = `${options.host}:${options.port}`;
    connection.on('end', () => {
      this.closedFlag = true;
    });
    connection.on('close', () => {
      this.closedFlag = true;
    });
  }

  /**
   * What the TLS handshake showed about the server's certificate for `host` (outbound-tls/
   * trust-store.ts), or null without TLS. Connections are opened with rejectUnauthorized off
   * where a policy decides afterwards (MTA-STS testing still delivers), so this is the check.
   */
  peerVerification(host: string): PeerVerification | null {
    const socket = (this.connection as unknown as { _socket?: unknown })._socket;
    if (!this.secure || !(socket instanceof TLSSocket)) return null;
    return peerVerification(socket, host);
  }

  /** Whether the server or we have closed the connection. */
  get closed(): boolean {
    return this.closedFlag || this.connection.destroyed;
  }

  /** Connects, reads the greeting, says EHLO (LHLO), upgrades with STARTTLS, logs in. */
  static async open(options: SmtpClientOptions, signal: AbortSignal): Promise<SmtpClientConnection | OpenFailure> {
    if (signal.aborted) return { ok: false, reason: 'deadline passed before connecting', stage: 'connect' };
    const connection = new SMTPConnection({
      host: options.host,
      port: options.port,
      ...(options.servername ? { servername: options.servername } : {}),
      name: options.ehloName,
      secure: options.tls === 'implicit',
      ignoreTLS: options.tls === 'none',
      requireTLS: options.tls === 'required',
      opportunisticTLS: options.tls === 'opportunistic',
      tls: options.tlsOptions ?? {},
      lmtp: options.lmtp ?? false,
      connectionTimeout: options.connectTimeoutMs ?? 30_000,
      greetingTimeout: options.greetingTimeoutMs ?? 30_000,
      socketTimeout: options.socketTimeoutMs ?? 120_000,
      maxResponseSize: options.maxReplyBytes ?? defaultMaxReplyBytes,
      allowInternalNetworkInterfaces: true,
      logger: false,
    });
    // Errors after a callback has run (a socket reset while idle in the pool) arrive as
    // 'error' events; without a listener they would crash the process (cf. F11).
    connection.on('error', () => {});
    const onAbort = () => connection.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const connectError = await new Promise<NodemailerError | undefined>((resolve) => {
        // A close is reported after nodemailer's own error for it, which says more.
        connection.once('end', () => setImmediate(() => resolve(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }))));
        connection.on('error', (err: NodemailerError) => resolve(err));
        connection.connect((err) => resolve(err ?? undefined));
      });
      if (connectError || signal.aborted) {
        connection.close();
        const err: NodemailerError = connectError ?? new Error('deadline passed');
        // A failed handshake surfaces as ETLS, or as a socket error of the TLS layer.
        const tlsFailed = err.code === 'ETLS' || connection.upgrading === true || (err.code === 'ESOCKET' && /\b(SSL|TLS)\b|ssl routines/i.test(err.message));
        const stage = tlsFailed ? 'tls' : err.response ? 'greeting' : 'connect';
        return {
          ok: false,
          reason: signal.aborted ? 'transaction deadline passed while connecting' : nodemailerReason(err),
          stage,
          ...(err.response ? { reply: err.response } : {}),
        };
      }
      const extensions = parseExtensions(typeof connection.lastServerResponse === 'string' ? connection.lastServerResponse : '');
      if (options.auth) {
        const loginError = await new Promise<NodemailerError | null>((resolve) => {
          const onClose = () => setImmediate(() => resolve(Object.assign(new Error('connection closed during AUTH'), { code: 'ECONNECTION' })));
          connection.once('end', onClose);
          connection.login({ user: options.auth!.user, pass: options.auth!.pass }, (err) => {
            connection.removeListener('end', onClose);
            resolve(err);
          });
        });
        if (loginError || signal.aborted) {
          connection.close();
          const err: NodemailerError = loginError ?? new Error('deadline passed');
          return { ok: false, reason: `AUTH failed: ${nodemailerReason(err)}`, stage: 'auth', ...(err.response ? { reply: err.response } : {}) };
        }
      }
      return new SmtpClientConnection(options, connection, extensions);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Runs one transaction: MAIL, RCPT for each recipient, DATA and the message. */
  async send(envelope: SmtpEnvelope, message: Buffer | Readable, signal: AbortSignal): Promise<TransactionResult> {
    if (signal.aborted) return { kind: 'broken', reason: 'transaction deadline passed', afterData: false };
    if (this.closed) return { kind: 'broken', reason: 'connection already closed', afterData: false };
    const onAbort = () => this.connection.close();
    signal.addEventListener('abort', onAbort, { once: true });
    // A message read as it is sent (a body from the Object Store, queue/body-reader.ts) that
    // fails midway (a digest mismatch, NATS gone) must not end with the final dot: nodemailer
    // pipes it and would wait for an end that never comes, so the connection is closed.
    let sourceError: Error | null = null;
    const onSourceError = (err: Error) => {
      sourceError = err;
      this.connection.close();
    };
    if (message instanceof Readable) message.once('error', onSourceError);
    // nodemailer's command writer is wrapped for this transaction, for two things:
    //  - it declares SMTPUTF8 only for non-ASCII addresses; a message with UTF-8 in its
    //    header section needs it too (RFC 6531 §3.4), so we add it to MAIL FROM;
    //  - once DATA has been sent, a broken connection may have delivered the message
    //    (the server may have taken it and lost the link before its reply), so such a
    //    failure must not be retried on another host now (duplicates), only later.
    const writer = this.connection as unknown as CommandWriter;
    const writeCommand = writer._sendCommand.bind(this.connection);
    const addSmtpUtf8 = envelope.smtpUtf8 === true && this.extensions.has('SMTPUTF8');
    let dataSent = false;
    writer._sendCommand = (str: string, logStr?: string) => {
      if (/^DATA$/i.test(str)) dataSent = true;
      let command = addSmtpUtf8 && /^MAIL FROM:/i.test(str) && !/ SMTPUTF8\b/i.test(str) ? `${str} SMTPUTF8` : str;
      // DSN and REQUIRETLS parameters (per recipient for RCPT), which nodemailer can only set per envelope.
      if (/^MAIL FROM:/i.test(command) && envelope.mailParams?.length) command = `${command} ${envelope.mailParams.join(' ')}`;
      const rcpt = /^RCPT TO:<(.*)>$/i.exec(command)?.[1];
      const extra = rcpt !== undefined ? envelope.rcptParams?.get(rcpt) : undefined;
      if (extra?.length) command = `${command} ${extra.join(' ')}`;
      writeCommand(command, logStr);
    };
    // LMTP answers the data once per recipient; nodemailer keeps only the refusals, so the
    // handler is wrapped to keep every recipient's own reply.
    const handleLmtpReply = writer._actionLMTPStream.bind(this.connection);
    const lmtpReplies = new Map<string, string>();
    if (this.options.lmtp) {
      writer._actionLMTPStream = (recipient: string, final: boolean, str: string, callback: unknown) => {
        lmtpReplies.set(recipient, str);
        handleLmtpReply(recipient, final, str, callback);
      };
    }
    try {
      const outcome = await new Promise<{ err: NodemailerError | null; info?: SMTPConnection.SentMessageInfo }>((resolve) => {
        // A close is reported after nodemailer's own callback for it, which says more.
        const onClose = () => setImmediate(() => resolve({ err: Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }) }));
        this.connection.once('end', onClose);
        this.connection.send({ from: envelope.from, to: [...envelope.to], size: envelope.size, use8BitMime: envelope.eightBit }, message, (err, info) => {
          this.connection.removeListener('end', onClose);
          resolve({ err: err ?? null, ...(info ? { info } : {}) });
        });
      });
      this.messagesSent++;
      if (signal.aborted) return { kind: 'broken', reason: 'transaction deadline passed', afterData: dataSent };
      if (sourceError !== null) return { kind: 'broken', reason: `reading the message: ${(sourceError as Error).message}`, afterData: dataSent };
      return this.resultOf(outcome.err, outcome.info, dataSent, lmtpReplies);
    } finally {
      writer._sendCommand = writeCommand;
      writer._actionLMTPStream = handleLmtpReply;
      signal.removeEventListener('abort', onAbort);
      if (message instanceof Readable) message.removeListener('error', onSourceError);
    }
  }

  /** RSET, so the connection can carry the next message; false when it is no longer usable. */
  async reset(signal: AbortSignal): Promise<boolean> {
    if (this.closed || signal.aborted) return false;
    const onAbort = () => this.connection.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise<boolean>((resolve) => {
        const onClose = () => setImmediate(() => resolve(false));
        this.connection.once('end', onClose);
        this.connection.reset((err) => {
          this.connection.removeListener('end', onClose);
          resolve(!err);
        });
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** QUIT and close. */
  quit(): void {
    if (this.closed) return;
    this.closedFlag = true;
    try {
      this.connection.quit();
    } catch {
      this.connection.close();
    }
  }

  close(): void {
    this.closedFlag = true;
    this.connection.close();
  }

  private resultOf(
    err: NodemailerError | null,
    info: SMTPConnection.SentMessageInfo | undefined,
    dataSent: boolean,
    lmtpReplies: ReadonlyMap<string, string>,
  ): TransactionResult {
    const refused = new Map<string, string>();
    const addRefusals = (errors: readonly NodemailerError[] | undefined) => {
      for (const e of errors ?? []) if (e.recipient && e.response) refused.set(e.recipient, e.response);
    };
    if (!err && info) {
      addRefusals(info.rejectedErrors);
      // LMTP refusals after the data are per-recipient replies, not RCPT refusals.
      for (const recipient of lmtpReplies.keys()) refused.delete(recipient);
      return { kind: 'replies', refused, final: info.response, ...(lmtpReplies.size > 0 ? { perRecipient: lmtpReplies } : {}) };
    }
    const e: NodemailerError = err ?? Object.assign(new Error('no result'), { code: 'EPROTOCOL' });
    if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') {
      if (e.command === 'MAIL FROM' && e.response) return { kind: 'replies', refused, mailRefused: e.response };
      if (e.command === 'MAIL FROM' && !e.response) {
        // nodemailer refuses locally when SIZE exceeds the server's advertised limit.
        return { kind: 'replies', refused, mailRefused: `${C.C552MailboxFull} ${enhancedCode(C.C552MailboxFull, SE.MsgTooBig4)} ${e.message}` };
      }
      addRefusals(e.rejectedErrors);
      const state = (this.connection as unknown as EnvelopeState)._envelope;
      if (state) addRefusals(state.rejectedErrors);
      if (e.response) return { kind: 'replies', refused, final: e.response };
    }
    // LMTP replies already in count: a break after some recipients were delivered leaves
    // only the others transient (no duplicate for the delivered ones).
    if (lmtpReplies.size > 0) return { kind: 'replies', refused, perRecipient: lmtpReplies };
    return { kind: 'broken', reason: nodemailerReason(e), afterData: dataSent };
  }
}

/** EHLO keywords from a (multi-line) EHLO reply: "250-PIPELINING\n250 SMTPUTF8" → {PIPELINING, SMTPUTF8}. */
export function parseExtensions(ehloReply: string): Set<string> {
  const out = new Set<string>();
  const lines = ehloReply.split(/\r?\n/);
  for (const line of lines.slice(1)) {
    const keyword = /^\d{3}[ -]([A-Za-z0-9][A-Za-z0-9-]*)/.exec(line)?.[1];
    if (keyword) out.add(keyword.toUpperCase());
  }
  return out;
}

// Unlike describeError (mta/src/errors.ts: a code alone), nodemailer's code and its message
// both: the message carries what the server said (a 535 after AUTH, a refused STARTTLS), which
// the log needs; one line, bounded.
function nodemailerReason(err: NodemailerError): string {
  const code = err.code ? `${err.code}: ` : '';
  return `${code}${err.message}`.replace(/[\r\n]+/g, ' ').slice(0, 600);
}
