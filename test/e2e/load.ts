// A bounded load of mail for the e2e scenarios: `messages` messages spread evenly over
// `seconds` by `clients` concurrent senders, each message with a unique id in its
// Message-ID and an X-E2E-Id header, so the receiver counts it (receiver.ts). A sender acts
// as a real MTA: a 4xx, a refused or dropped connection, or a timeout means "try again"
// (the same message, same id, after a second), until `giveUpMs`; a 5xx is a permanent
// refusal and counted as such. A message counts as accepted only once the end of DATA got
// a 250 — a 250 lost on a dropped connection means the message is sent again, which is
// the at-least-once window the duplicates measure (docs/reliability.md).
import { setTimeout as sleep } from 'node:timers/promises';
import { sendMessage } from '../harness/smtp-send.ts';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly from: string;
  readonly to: string;
  /** Prefix of every id, unique per run and scenario. */
  readonly idPrefix: string;
  readonly messages: number;
  readonly seconds: number;
  readonly clients: number;
  /** Stop retrying a message after this long (default 5 minutes). */
  readonly giveUpMs?: number;
}

export interface LoadResult {
  /** Ids of the messages whose end of DATA got a 250. */
  readonly accepted: readonly string[];
  /** The queue id each accepted message got ("250 ... queued as <id>"), by message id. */
  readonly queueIds: ReadonlyMap<string, string>;
  /** Ids refused with a 5xx (never retried). */
  readonly rejected: readonly { id: string; reply: string }[];
  /** Ids still failing transiently when the sender gave up. */
  readonly abandoned: readonly string[];
  /** The longest time one message spent between its first transient failure and its 250. */
  readonly longestTransientMs: number;
  /** How many attempts failed transiently, by the first word of the reason. */
  readonly transientFailures: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

const message = (from: string, to: string, id: string) =>
  Buffer.from(
    [
      `From: <${from}>`,
      `To: <${to}>`,
      `Subject: e2e ${id}`,
      `Message-ID: <${id}@e2e.test>`,
      `X-E2E-Id: ${id}`,
      `Date: ${new Date().toUTCString()}`,
      '',
      `load message ${id}`,
      '',
    ].join('\r\n'),
  );

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const giveUpMs = o.giveUpMs ?? 5 * 60_000;
  const accepted: string[] = [];
  const queueIds = new Map<string, string>();
  const rejected: { id: string; reply: string }[] = [];
  const abandoned: string[] = [];
  const transientFailures: Record<string, number> = {};
  let longestTransientMs = 0;
  const started = Date.now();
  const interval = (o.seconds * 1000) / o.messages;

  const sendOne = async (id: string) => {
    const body = message(o.from, o.to, id);
    let firstFailure: number | undefined;
    for (;;) {
      let reply: string;
      try {
        reply = await sendMessage({ host: o.host, port: o.port, from: o.from, to: [o.to], message: body, helo: 'load.e2e.test' });
      } catch (err) {
        reply = `connect ${(err as Error).message}`;
      }
      if (reply.startsWith('250')) {
        accepted.push(id);
        const queueId = /queued as (\S+)/.exec(reply)?.[1];
        if (queueId) queueIds.set(id, queueId);
        if (firstFailure !== undefined) longestTransientMs = Math.max(longestTransientMs, Date.now() - firstFailure);
        return;
      }
      if (/^5\d\d/.test(reply)) {
        rejected.push({ id, reply });
        return;
      }
      firstFailure ??= Date.now();
      const reason = /^4\d\d/.test(reply) ? reply.slice(0, 3) : (reply.split(/[\s:]/)[0] ?? 'error');
      transientFailures[reason] = (transientFailures[reason] ?? 0) + 1;
      if (Date.now() - firstFailure > giveUpMs) {
        abandoned.push(id);
        return;
      }
      await sleep(1_000);
    }
  };

  // Message i is due at started + i * interval; client c takes i = c, c + clients, ...
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      for (let i = c; i < o.messages; i += o.clients) {
        const due = started + i * interval;
        if (due > Date.now()) await sleep(due - Date.now());
        await sendOne(`${o.idPrefix}-${String(i).padStart(5, '0')}`);
      }
    }),
  );
  return { accepted, queueIds, rejected, abandoned, longestTransientMs, transientFailures, elapsedMs: Date.now() - started };
}
