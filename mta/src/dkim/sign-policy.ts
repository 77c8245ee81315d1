// Which queued messages we vouch for with our DKIM keys. A signature says "this domain's
// operator sent this"; mail that reached us unauthenticated on the MX listener and is
// relayed on (an alias to a remote address, a forward) was not sent by us, even when its
// From header claims one of our domains, so it is never signed: that would turn a forged
// From into one that passes DKIM and DMARC. Signed are: mail from an authenticated
// submission user, our own delivery status notifications and our TLS reports.
import type { QueueRecord } from '../queue/record.ts';

/** The listener name the delivery engine gives the DSNs it queues. */
export const dsnListener = 'dsn';

/** The listener name of the TLS-RPT reports the MTA mails (tls-report/report-sender.ts). */
export const reportListener = 'tlsrpt';

export function mayVouchFor(record: Pick<QueueRecord, 'listener' | 'client'>): boolean {
  return record.client.authUser !== null || record.listener === dsnListener || record.listener === reportListener;
}
