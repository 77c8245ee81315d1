// The LMTP transport (RFC 2033): a mailbox's mail to an LMTP server such as Dovecot. LMTP
// answers the data once per accepted recipient, so one recipient can be delivered while
// another is over quota; each gets its own outcome. The message goes as stored (line ends
// made CRLF); it is not DKIM-signed (it does not leave our system).
import { hostname as osHostname } from 'node:os';
import { C, SE } from '../codes.ts';
import { reply } from '../reply.ts';
import { sameOutcome, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';
import { SmtpClientConnection, type TlsMode } from './smtp-client.ts';
import { toCrlf, hasEightBit } from './smtp-client-message.ts';
import { outcomesOf } from './smtp-client-reply.ts';

export interface LmtpOptions {
  /** Our LHLO name. */
  readonly lhloName?: string;
  /** 'none' by default: LMTP runs inside the cluster; 'opportunistic' uses STARTTLS when offered. */
  readonly tls?: TlsMode;
  readonly connectTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

export function createLmtpTransport(options: LmtpOptions = {}): Transport {
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, signal, record } = attempt;
      if (destination.kind !== 'lmtp') throw new Error(`LMTP cannot deliver to a ${destination.kind} destination`);
      const label = `${destination.host}:${destination.port}`;
      const connection = await SmtpClientConnection.open(
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
      );
      if (!(connection instanceof SmtpClientConnection)) {
        return sameOutcome(
          recipients,
          'transient',
          reply(C.C451LocalError, SE.NoAnswer1, 'The mailbox server did not answer'),
          `LMTP ${label}: ${connection.reason}`,
          label,
        );
      }
      try {
        const message = toCrlf(attempt.body);
        const result = await connection.send(
          { from: record.envelope.mailFrom.address, to: recipients, size: message.length, eightBit: hasEightBit(message) },
          message,
          signal,
        );
        return outcomesOf(recipients, result, label);
      } finally {
        connection.quit();
      }
    },
  };
}
