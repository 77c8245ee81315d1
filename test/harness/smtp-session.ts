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

const replyOf = (err: Error) => String((err as { response?: string }).response ?? err.message);

/** Connects and greets; rejects with the refusal or connection error, as a sender sees it. */
export async function openSession(o: SessionOptions): Promise<SmtpSession> {
  const conn = new SMTPConnection({
    host: o.host,
    port: o.port,
    name: o.helo ?? 'client.example.org',
    ignoreTLS: true,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
  });
  // nodemailer reports a refusal at the greeting or a connection dropped between commands
  // as an 'error' or 'end' event, and may then call no callback: settle on those too.
  let closed: (reason: Error) => void = () => {};
  let ended = false;
  conn.on('error', (err: Error) => {
    ended = true;
    closed(err);
  });
  conn.on('end', () => {
    ended = true;
    closed(new Error('connection closed by the server'));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      closed = reject;
      conn.connect((err) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    conn.close();
    throw err;
  }
  let delivered = 0;
  const session: SmtpSession = {
    get usable() {
      return !ended && !conn.destroyed;
    },
    get delivered() {
      return delivered;
    },
    async send(from, to, message) {
      if (!session.usable) return 'connection closed by the server';
      const reply = await new Promise<string>((resolve) => {
        closed = (err) => resolve(replyOf(err));
        conn.send({ from, to: [...to] }, message, (err, info) => resolve(err ? replyOf(err) : String(info.response)));
      });
      closed = () => {};
      if (reply.startsWith('250')) delivered++;
      else if (session.usable && !reply.startsWith('421')) {
        await new Promise<void>((resolve) => {
          closed = () => resolve();
          conn.reset(() => resolve());
        });
        closed = () => {};
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
