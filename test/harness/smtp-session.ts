// One SMTP connection a client keeps open for several messages, as a sending MTA reuses a
// connection (Postfix's connection cache): connect and EHLO once, then MAIL/RCPT/DATA per
// message on the same connection. Replies come back as text, never thrown (as in
// smtp-send.ts): "250 ... queued as ...", a refusal ("421 4.4.2 ..."), or what went wrong
// with the connection ("connection closed by the server", "connect ECONNREFUSED ...").
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SessionOptions {
  readonly host: string;
  readonly port: number;
  readonly helo?: string;
}

export interface SmtpSession {
  /** False once the server closed the connection (a 421, an idle close, a dropped socket). */
  readonly usable: boolean;
  /** Messages this connection carried to a 250. */
  readonly delivered: number;
  /** One transaction; after a refusal that leaves the connection up, RSET so the next can follow. */
  send(from: string, to: readonly string[], message: Buffer): Promise<string>;
  /** QUIT (or just close, when the server already did). */
  close(): void;
}

/** The text a sender sees for a failed step: the server's reply when there was one, else what the connection did. */
export const replyOf = (err: Error) => String((err as { response?: string }).response ?? err.message);

/** Timeouts of every harness client: a hung server fails the step, never the whole test. */
export const clientTimeouts = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 } as const;

/**
 * Where a connection's end goes. nodemailer reports a refusal at the greeting (421) or a
 * connection dropped between commands as an 'error' or 'end' event and may then call no
 * callback, so each step sets what settles it when that happens.
 */
export function watchClose(conn: SMTPConnection): { settleOnClose(handler: (reason: Error) => void): void; readonly ended: boolean } {
  let handler: (reason: Error) => void = () => {};
  let ended = false;
  conn.on('error', (err: Error) => {
    ended = true;
    handler(err);
  });
  conn.on('end', () => {
    ended = true;
    handler(new Error('connection closed by the server'));
  });
  return {
    settleOnClose(h) {
      handler = h;
    },
    get ended() {
      return ended;
    },
  };
}

/** Connects and greets, settling on a refusal or a dropped connection too; rejects with it. */
export async function greet(conn: SMTPConnection, watch: ReturnType<typeof watchClose>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    watch.settleOnClose(reject);
    conn.connect((err) => (err ? reject(err) : resolve()));
  });
}

/** Connects and greets; rejects with the refusal or connection error, as a sender sees it. */
export async function openSession(o: SessionOptions): Promise<SmtpSession> {
  const conn = new SMTPConnection({
    host: o.host,
    port: o.port,
    name: o.helo ?? 'client.example.org',
    ignoreTLS: true,
    ...clientTimeouts,
    logger: false,
  });
  const watch = watchClose(conn);
  try {
    await greet(conn, watch);
  } catch (err) {
    conn.close();
    throw err;
  }
  let delivered = 0;
  const session: SmtpSession = {
    get usable() {
      return !watch.ended && !conn.destroyed;
    },
    get delivered() {
      return delivered;
    },
    async send(from, to, message) {
      if (!session.usable) return 'connection closed by the server';
      const reply = await new Promise<string>((resolve) => {
        watch.settleOnClose((err) => resolve(replyOf(err)));
        conn.send({ from, to: [...to] }, message, (err, info) => resolve(err ? replyOf(err) : String(info.response)));
      });
      watch.settleOnClose(() => {});
      if (reply.startsWith('250')) delivered++;
      else if (session.usable && !reply.startsWith('421')) {
        await new Promise<void>((resolve) => {
          watch.settleOnClose(() => resolve());
          conn.reset(() => resolve());
        });
        watch.settleOnClose(() => {});
      }
      return reply;
    },
    close() {
      if (session.usable) conn.quit();
      else conn.close();
    },
  };
  return session;
}
