// Which queued messages we vouch for with our DKIM keys. A signature says "this domain's
// operator sent this"; mail that reached us unauthenticated on the MX listener and is
// relayed on (an alias to a remote address, a forward) was not sent by us, even when its
// From header claims one of our domains, so it is never signed: that would turn a forged
// From into one that passes DKIM and DMARC. Signed are: mail from an authenticated
// submission user, our own delivery status notifications and our TLS reports.
//
// Which domain signs a submission: only one the login may use (its address's, its aliases',
// its sendAs'; policy/sender-policy.ts, the same rule as for its envelope and From), so a
// login never gets another tenant's signature (docs/trust-model.md §2.1). Whether a record
// really came from an authenticated submission is what the queue seal proves
// (queue/record-seal.ts): delivery clears the auth fields of a record whose seal does not
// verify before anything here reads them.
import type { Bundle } from '../../../bundle/schema.ts';
import { mayUseDomain } from '../policy/sender-policy.ts';
import type { QueueRecord } from '../queue/record.ts';

/** The listener name the delivery engine gives the DSNs it queues. */
export const dsnListener = 'dsn';

/** The listener name of the TLS-RPT reports the MTA mails (tls-report/report-sender.ts). */
export const reportListener = 'tlsrpt';

export function mayVouchFor(record: Pick<QueueRecord, 'listener' | 'client'>): boolean {
  return record.client.authUser !== null || record.listener === dsnListener || record.listener === reportListener;
}

/** The domains a record's mail may be signed with: a login's own (mayUseDomain); any of ours for our notices. */
export function signingDomainRule(bundle: Bundle, record: Pick<QueueRecord, 'client'>): (domain: string) => boolean {
  const user = record.client.authUser;
  return user === null ? () => true : (domain) => mayUseDomain(bundle, user, domain);
}
