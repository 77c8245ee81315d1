// Which delivery status notice, if any, a recipient's outcome calls for (RFC 3461 §6), as a
// pure decision; the engine collects them per attempt into one notice per kind (report.ts).
//
//   delivered by us into a mailbox (maildir, LMTP, webhook) → "delivered", if NOTIFY has SUCCESS
//   handed to a next hop that offers DSN (NOTIFY passed on)   → none: the next hop reports
//   handed to a next hop without DSN                          → "relayed", if NOTIFY has SUCCESS
//   sent on by a forward (a new message to other addresses)   → "expanded", if NOTIFY has SUCCESS
//   refused for good, or expired                              → "failed", unless NOTIFY excludes FAILURE
//   still being retried after `delayAfterMs` (once)           → "delayed", unless NOTIFY excludes DELAY
// Never for the null sender (no notice about a notice, RFC 5321 §4.5.5), and never a delay
// notice when delay notices are off (delayAfterMs null).
import { parseRcptDsnParams, wantsNotice, type RcptDsnParams } from './params.ts';
import type { EnvelopeAddress } from '../queue/record.ts';
import type { NoticeAction } from './report.ts';

export type DeliveredVia = 'mailbox' | 'relay-with-dsn' | 'relay-without-dsn' | 'forward';

export interface NoticeCase {
  readonly mailFrom: string;
  readonly recipient: EnvelopeAddress;
  readonly outcome:
    { readonly status: 'delivered'; readonly via: DeliveredVia } | { readonly status: 'permanent' | 'expired' } | { readonly status: 'transient' };
  readonly receivedAtMs: number;
  readonly nowMs: number;
  /** A delay notice already went out for this recipient. */
  readonly delayNotified: boolean;
  /** Default 4 h; null: no delay notices. */
  readonly delayAfterMs: number | null;
}

export const defaultDelayNoticeMs = 4 * 3_600_000;

export function noticeFor(c: NoticeCase): NoticeAction | null {
  if (c.mailFrom === '') return null;
  const parsed = parseRcptDsnParams(c.recipient.params);
  const rcpt: RcptDsnParams = 'code' in parsed ? { notify: null, orcpt: null } : parsed;
  switch (c.outcome.status) {
    case 'delivered': {
      if (!wantsNotice(rcpt, 'SUCCESS')) return null;
      const via = c.outcome.via;
      return via === 'mailbox' ? 'delivered' : via === 'relay-without-dsn' ? 'relayed' : via === 'forward' ? 'expanded' : null;
    }
    case 'permanent':
    case 'expired':
      return wantsNotice(rcpt, 'FAILURE') ? 'failed' : null;
    case 'transient':
      if (c.delayAfterMs === null || c.delayNotified || !wantsNotice(rcpt, 'DELAY')) return null;
      return c.nowMs - c.receivedAtMs >= c.delayAfterMs ? 'delayed' : null;
  }
}
