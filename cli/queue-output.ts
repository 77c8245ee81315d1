// How `stafette queue stats|list|show` print what they read: plain text for people (JSON
// with --json is the data as read). Pure functions of the data and the current time.
import type { EnvelopeAddress, QueueListEntry, QueueListProblem, QueueShowResult, QueueStats } from '../mta/src/queue/index.ts';

export function formatStats(stats: QueueStats, nowMs: number): string[] {
  const s = stats.stream;
  const oldest = s.oldest ? `, oldest stored ${s.oldest} (${formatAge(nowMs - Date.parse(s.oldest))} ago)` : '';
  const lines = [`stream ${s.name}: ${plural(s.messages, 'job')}, ${formatBytes(s.bytes)}${oldest}`];
  const c = stats.consumer;
  lines.push(
    c
      ? `consumer ${c.name}: ${c.pending} waiting for a worker, ${c.ackPending} being delivered, ${c.redelivered} redelivered, ${plural(c.waitingPulls, 'worker')} pulling`
      : 'consumer: not created yet (the MTA creates it at start)',
  );
  const b = stats.bodies;
  lines.push(b ? `large bodies (bucket ${b.bucket}): ${formatBytes(b.bytes)} in ${plural(b.messages, 'chunk')}` : 'large bodies: bucket not created yet');
  return lines;
}

export function formatList(list: { entries: QueueListEntry[]; problems: QueueListProblem[]; nextSeq: number | null }): string[] {
  if (list.entries.length === 0 && list.problems.length === 0) return ['the queue is empty'];
  const rows = list.entries.map((e) => [
    e.queueId,
    String(e.seq),
    formatBytes(e.size),
    formatAge(e.ageMs),
    e.bodyKind,
    e.sender === '' ? '<>' : e.sender,
    e.recipients.join(', '),
  ]);
  const lines = table(['QUEUE ID', 'SEQ', 'SIZE', 'AGE', 'BODY', 'FROM', 'TO'], rows);
  for (const p of list.problems) lines.push(`problem: job at sequence ${p.seq} (${p.subject}) cannot be read: ${p.problem}`);
  if (list.nextSeq !== null) lines.push(`more jobs follow: stafette queue list --from ${list.nextSeq}`);
  return lines;
}

export function formatShow(shown: QueueShowResult): string[] {
  const r = shown.record;
  const tls = r.client.tls ? `${r.client.tls.protocol} ${r.client.tls.cipher}` : 'none';
  return [
    `queue id:    ${r.queueId}`,
    `sequence:    ${shown.seq}`,
    `received:    ${r.receivedAt} on listener ${r.listener}`,
    `stored:      ${shown.storedAt}`,
    `client:      ${r.client.ip} (HELO ${r.client.helo}), TLS ${tls}, AUTH ${r.client.authUser ?? 'none'}`,
    `from:        ${formatAddress(r.envelope.mailFrom)}`,
    ...r.envelope.rcptTo.map((to, i) => `${i === 0 ? 'to:  ' : '     '}        ${formatAddress(to)}`),
    `body:        ${formatBytes(shown.bodySize)}, sha256 ${r.body.sha256}`,
    `             ${shown.bodyLocation}${shown.bodyPresent ? '' : ' - MISSING or does not match its digest'}`,
  ];
}

function formatAddress(a: EnvelopeAddress): string {
  const params = a.params.map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`));
  return [`<${a.address}>`, ...params].join(' ');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}
