// Backscatter (docs/spam-checks.md §3): a delivery status notice goes to the envelope sender,
// and on mail that failed SPF or DMARC at our MX that sender is likely forged, so the notice
// would land on an innocent third party (RFC 3834 §2 and RFC 5321 §6.2 ask not to send such
// notices). The intake keeps the SPF and DMARC results in the queue record
// (mta/src/queue/record.ts senderAuth); delivery asks here before it queues any notice.
// Only "fail" counts: softfail, neutral, none and the error results say too little to drop a
// notice a real sender may need.
import type { QueueRecord } from '../queue/record.ts';

/** Why no notice may go to this message's sender ("spf=fail", "dmarc=fail"), or null when one may. */
export function backscatterRisk(record: Pick<QueueRecord, 'senderAuth'>): string | null {
  const auth = record.senderAuth;
  if (!auth) return null;
  const failed = [auth.spf === 'fail' ? 'spf=fail' : null, auth.dmarc === 'fail' ? 'dmarc=fail' : null].filter((x) => x !== null);
  return failed.length > 0 ? failed.join(' ') : null;
}
