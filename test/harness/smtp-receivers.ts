// Receiving SMTP servers for the delivery tests, on 127.0.0.x addresses: smtp-server (a real
// SMTP server implementation from npm) configured per test: which extensions it offers,
// whether it wants AUTH, which recipients it refuses, and every message it receives kept in
// memory (Postfix's smtp-sink is in smtp-sink.ts). `startWireTap` puts a TCP relay in front of any server and records the bytes the
// client sent, to check what really went over the wire.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { freePort } from './process.ts';

export interface ReceivedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly data: Buffer;
  readonly helo: string;
  readonly secure: boolean;
  readonly user: string | null;
  /** Parameters given with MAIL FROM (BODY, SMTPUTF8, SIZE, ...), upper-cased keys. */
  readonly mailParams: Readonly<Record<string, unknown>>;
  /** Parameters given with each RCPT TO (NOTIFY, ORCPT), by recipient. */
  readonly rcptParams: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The sending client's address (what an SPF check at this hop would see). */
  readonly clientIp: string;
}

export interface SmtpReceiverOptions {
  readonly host: string;
  readonly port?: number;
  readonly name?: string;
  /** Extensions not to offer (STARTTLS is then also refused when a client tries it). */
  readonly hide?: readonly ('SMTPUTF8' | '8BITMIME' | 'PIPELINING' | 'STARTTLS')[];
  /** Require AUTH with these credentials (offered after STARTTLS only). */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Implicit TLS from the first byte. */
  readonly secure?: boolean;
  /** A reply to refuse a recipient with, e.g. "550 5.1.1 no such user", or null to accept. */
  readonly rcptReply?: (address: string) => string | null;
  /** A reply to refuse a message after its data with, or null to accept. */
  readonly dataReply?: (message: ReceivedMessage) => string | null;
  readonly lmtp?: boolean;
  /** LMTP: a reply after the data for each recipient, e.g. "452 4.2.2 over quota", or null for 250. */
  readonly lmtpDataReply?: (address: string) => string | null;
  /** The STARTTLS/implicit TLS certificate (default: smtp-server's own self-signed one). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** Offer DSN (RFC 3461) and REQUIRETLS (RFC 8689, over TLS); the parameters land in mailParams/rcptParams. */
  readonly offer?: readonly ('DSN' | 'REQUIRETLS')[];
}

export interface SmtpReceiver {
  readonly host: string;
  readonly port: number;
  readonly messages: ReceivedMessage[];
  /** Connections opened by clients so far. */
  connections: number;
  /** The most connections open at one time. */
  readonly peakOpen: number;
  stop(): Promise<void>;
}

export async function startSmtpReceiver(options: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const port = options.port ?? (await freePort(options.host));
  const messages: ReceivedMessage[] = [];
  const hide = new Set(options.hide ?? []);
  const state = { connections: 0, open: 0, peak: 0 };
  const serverOptions: SMTPServerOptions = {
    name: options.name ?? `mx.${options.host}`,
    secure: options.secure ?? false,
    lmtp: options.lmtp ?? false,
    hideSMTPUTF8: hide.has('SMTPUTF8'),
    hide8BITMIME: hide.has('8BITMIME'),
    hidePIPELINING: hide.has('PIPELINING'),
    hideSTARTTLS: hide.has('STARTTLS'),
    hideDSN: !options.offer?.includes('DSN'),
    hideREQUIRETLS: !options.offer?.includes('REQUIRETLS'),
    ...(options.tls ? { cert: options.tls.certPem, key: options.tls.keyPem } : {}),
    // A hidden STARTTLS is refused too: smtp-server would otherwise still upgrade on request.
    disabledCommands: [...(options.auth ? [] : ['AUTH']), ...(hide.has('STARTTLS') ? ['STARTTLS'] : [])],
    authOptional: !options.auth,
    size: 10 * 1024 * 1024,
    logger: false,
    onConnect(_session, callback) {
      state.connections++;
      state.open++;
      state.peak = Math.max(state.peak, state.open);
      callback();
    },
    onClose() {
      state.open--;
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
    },
    onMailFrom(_address, session, callback) {
      if (options.auth && !session.user) return callback(Object.assign(new Error('5.7.0 Authentication required'), { responseCode: 530 }));
      callback();
    },
    onRcptTo(address, _session, callback) {
      const reply = options.rcptReply?.(address.address) ?? null;
      if (reply) return callback(replyError(reply));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        const mailFrom = envelope.mailFrom;
        const message: ReceivedMessage = {
          from: mailFrom ? mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
          helo: session.hostNameAppearsAs,
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : null,
          mailParams: (mailFrom && mailFrom.args) || {},
          rcptParams: Object.fromEntries(envelope.rcptTo.map((r) => [r.address, r.args || {}])),
          clientIp: session.remoteAddress,
        };
        const reply = options.dataReply?.(message) ?? null;
        if (reply) return callback(replyError(reply));
        if (options.lmtp && options.lmtpDataReply) {
          const replies = message.to.map((to) => options.lmtpDataReply!(to));
          const delivered = message.to.filter((_, i) => replies[i] === null);
          if (delivered.length > 0) messages.push({ ...message, to: delivered });
          // smtp-server's LMTP mode takes one result per recipient (an Error refuses it).
          return (callback as unknown as (err: null, results: (Error | string)[]) => void)(
            null,
            replies.map((r) => (r ? replyError(r) : '2.0.0 Ok: delivered')),
          );
        }
        messages.push(message);
        callback(null, '2.0.0 Ok: queued');
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => resolve());
  });
  return {
    host: options.host,
    port,
    messages,
    get connections() {
      return state.connections;
    },
    set connections(n: number) {
      state.connections = n;
    },
    get peakOpen() {
      return state.peak;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function replyError(reply: string): Error {
  const code = Number(reply.slice(0, 3));
  return Object.assign(new Error(reply.slice(4)), { responseCode: code });
}

export interface WireTap {
  readonly host: string;
  readonly port: number;
  /** Everything clients sent, per connection. */
  readonly sent: Buffer[][];
  stop(): Promise<void>;
}

/** A TCP relay on host:port (free if not given) to target, recording what clients send. */
export async function startWireTap(host: string, target: { host: string; port: number }, port?: number): Promise<WireTap> {
  const listenPort = port ?? (await freePort(host));
  const sent: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const record: Buffer[] = [];
    sent.push(record);
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => record.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, host, () => resolve());
  });
  return {
    host,
    port: listenPort,
    sent,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
