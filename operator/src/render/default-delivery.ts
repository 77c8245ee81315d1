// The operator's --default-delivery (the chart's `defaultDelivery`): the target of a
// Mailbox that sets no `delivery`.
//   local               the MTA's own maildirs: `make run` and other single-host runs
//   lmtp://host[:port]  an LMTP server such as Dovecot (port 24 when not given)
//   none                no target: such a Mailbox is reported (NoDeliveryTarget) and its
//                       mail refused, instead of waiting in the queue until it bounces
import type { DeliveryTarget } from '../../../bundle/schema.ts';

const lmtpDefaultPort = 24;

export function parseDefaultDelivery(value: string): DeliveryTarget | null {
  const text = value.trim();
  if (text === 'none') return null;
  if (text === 'local') return { type: 'local' };
  const lmtp = /^lmtp:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?\/?$/i.exec(text);
  if (lmtp) {
    const host = lmtp[1]!.replace(/^\[|\]$/g, '').toLowerCase();
    const port = lmtp[2] === undefined ? lmtpDefaultPort : Number(lmtp[2]);
    if (port >= 1 && port <= 65535 && !host.startsWith('.') && !host.endsWith('.') && !host.includes('..')) {
      return { type: 'lmtp', host, port };
    }
  }
  throw new Error(`default delivery ${JSON.stringify(value)} is not local, none or lmtp://host[:port]`);
}
