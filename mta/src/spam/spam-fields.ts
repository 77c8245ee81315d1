// The spam verdict fields a message brings with it: a sender can write "X-Spam-Status: No"
// into its own header section, and a mailbox filter reading the first field it finds would
// believe it. When our spam filter runs, every such field that arrives is removed before ours
// are added (as forged Authentication-Results are, sender-auth/auth-results-filter.ts), so the
// stored message carries only our verdict (docs/spam-checks.md §2).
//
// The header section is at most the header limit (policy/message-limits.ts, 100 KiB), so it
// is gathered from the first chunks, filtered field by field (a field ends at a CRLF not
// followed by a space or tab) and put back in front of the rest of the body.

/** The fields removed: ours (renderSpamFields in rspamd.ts) and the common ones of other filters. */
export const spamFieldNames: ReadonlySet<string> = new Set(['x-spam-status', 'x-spamd-result', 'x-spam-flag', 'x-spam', 'x-spam-score', 'x-spam-level']);

export function removeSpamFields(chunks: readonly Buffer[]): { chunks: Buffer[]; removed: number } {
  const all = Buffer.concat(chunks);
  let end = all.indexOf('\r\n\r\n');
  if (all.subarray(0, 2).toString() === '\r\n') end = 0;
  const head = end < 0 ? all : all.subarray(0, end + 2);
  const fields: Buffer[] = [];
  let removed = 0;
  let pos = 0;
  while (pos < head.length) {
    let next = pos;
    for (;;) {
      const crlf = head.indexOf('\r\n', next);
      if (crlf < 0) {
        next = head.length;
        break;
      }
      next = crlf + 2;
      if (head[next] !== 0x20 && head[next] !== 0x09) break;
    }
    const field = head.subarray(pos, next);
    const colon = field.indexOf(':');
    const name = colon > 0 ? field.subarray(0, colon).toString('latin1').trim().toLowerCase() : '';
    if (spamFieldNames.has(name)) removed++;
    else fields.push(field);
    pos = next;
  }
  if (removed === 0) return { chunks: [...chunks], removed };
  return { chunks: [...fields, all.subarray(head.length)], removed };
}
