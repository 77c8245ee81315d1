// One message through a real SMTP client (nodemailer's SMTPConnection) from a chosen source
// address, as a sending MTA would: the reply to the end of DATA (or the first refusal) comes
// back as text, never thrown, so tests can assert 250, 451 or 550 alike.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { clientTimeouts, greet, replyOf, watchClose } from './smtp-session.ts';

export interface SendOptions {
  readonly host: string;
  readonly port: number;
  /** The client's address (a 127.0.0.x the test zone's SPF records name). */
  readonly localAddress?: string;
  readonly helo?: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly message: Buffer;
  /** ESMTP parameters: DSN (NOTIFY per recipient, RET, ENVID). */
  readonly dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: ('SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER')[] };
  readonly requireTls?: boolean;
  /** SMTP AUTH (after STARTTLS when requireTls), as a submission client logs in. */
  readonly auth?: { readonly user: string; readonly pass: string };
}

/** The server's last reply: "250 2.0.0 Ok: queued as ...", or the refusal. */
export async function sendMessage(o: SendOptions): Promise<string> {
  const conn = new SMTPConnection({
    host: o.host,
    port: o.port,
    name: o.helo ?? 'client.example.org',
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    ignoreTLS: !o.requireTls,
    opportunisticTLS: o.requireTls === true,
    tls: { rejectUnauthorized: false },
    ...clientTimeouts,
    logger: false,
  });
  const watch = watchClose(conn);
  try {
    await greet(conn, watch);
    if (o.auth) {
      const auth = o.auth;
      const refused = await new Promise<string | undefined>((resolve) => {
        watch.settleOnClose((err) => resolve(replyOf(err)));
        conn.login({ user: auth.user, pass: auth.pass }, (err) => resolve(err ? replyOf(err) : undefined));
      });
      if (refused !== undefined) return refused;
    }
    return await new Promise<string>((resolve) => {
      watch.settleOnClose((err) => resolve(replyOf(err)));
      conn.send(
        {
          from: o.from,
          to: [...o.to],
          ...(o.dsn ? { dsn: { ...o.dsn, ...(o.dsn.notify ? { notify: o.dsn.notify } : {}) } } : {}),
          ...(o.requireTls ? { requireTLS: true } : {}),
        },
        o.message,
        (err, info) => {
          if (err) resolve(replyOf(err));
          else resolve(String(info.response));
        },
      );
    });
  } finally {
    conn.quit();
  }
}
