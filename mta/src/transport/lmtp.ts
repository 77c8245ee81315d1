// The LMTP transport (RFC 2033): a mailbox's mail to an LMTP server such as Dovecot. LMTP
// answers the data once per accepted recipient, so one recipient can be delivered while
// another is over quota; each gets its own outcome. The message goes as stored (line ends
// made CRLF); it is not DKIM-signed (it does not leave our system).
// Connections are reused (smtp-client-pool.ts ConnectionPool, as remote SMTP does): after a
// transaction with replies and a successful RSET the connection waits idle for the next
// message to the same host and port; a pooled one the server closed meanwhile is retried
// once on a new connection (issue 15: a connection per message was a third of delivery's cost).
import { hostname as osHostname } from 'node:os';
import { C, SE } from '../codes.ts';
import { reply } from '../reply.ts';
import { sameOutcome, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';
import { SmtpClientConnection, type TlsMode } from './smtp-client.ts';
import { outgoingMessage } from './streamed-message.ts';
import { outcomesOf } from './smtp-client-reply.ts';
import { ConnectionPool, type ConnectionPoolOptions } from './smtp-client-pool.ts';

export interface LmtpOptions {
  /** Our LHLO name. */
  readonly lhloName?: string;
  /** 'none' by default: LMTP runs inside the cluster; 'opportunistic' uses STARTTLS when offered. */
  readonly tls?: TlsMode;
  readonly connectTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
  /** Idle connections kept per server (default 5 s, 100 messages each). */
  readonly pool?: ConnectionPoolOptions;
}

export function createLmtpTransport(options: LmtpOptions = {}): Transport & { close(): void } {
  const pool = new ConnectionPool(options.pool);
  return {
    close: () => pool.closeAll(),
    streams: () => true,
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, signal, record } = attempt;
      if (destination.kind !== 'lmtp') throw new Error(`LMTP cannot deliver to a ${destination.kind} destination`);
      const label = `${destination.host}:${destination.port}`;
      const key = `${options.tls ?? 'none'} ${label}`;
      const message = await outgoingMessage(attempt.body);
      for (;;) {
        const pooled = pool.take(key);
        const connection =
          pooled ??
          (await SmtpClientConnection.open(
            {
              host: destination.host,
              port: destination.port,
              ehloName: options.lhloName ?? osHostname(),
              tls: options.tls ?? 'none',
              tlsOptions: { rejectUnauthorized: false },
              lmtp: true,
              connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
              socketTimeoutMs: options.socketTimeoutMs ?? 120_000,
            },
            signal,
          ));
        if (!(connection instanceof SmtpClientConnection)) {
          return sameOutcome(
            recipients,
            'transient',
            reply(C.C451LocalError, SE.NoAnswer1, 'The mailbox server did not answer'),
            `LMTP ${label}: ${connection.reason}`,
            label,
          );
        }
        const data = message.open();
        const result = await connection
          .send({ from: record.envelope.mailFrom.address, to: recipients, size: message.size, eightBit: message.eightBit }, data, signal)
          .finally(() => Buffer.isBuffer(data) || data.destroy());
        // A pooled connection the server closed while idle: nothing was sent, try a new one.
        if (result.kind === 'broken' && !result.afterData && pooled && !signal.aborted) {
          connection.close();
          continue;
        }
        if (result.kind === 'replies' && (await connection.reset(signal))) pool.give(key, connection);
        else connection.quit();
        return outcomesOf(recipients, result, label);
      }
    },
  };
}
