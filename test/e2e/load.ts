// A bounded load of mail for the e2e scenarios: `messages` messages spread evenly over
// `seconds` by `clients` concurrent senders, each message with a unique id in its
// Message-ID and an X-E2E-Id header, so the receiver counts it (receiver.ts).
//
// The senders act as real MTAs do:
// - `sessionClients` of them keep their connection open and send up to `perSession`
//   messages on it (a connection cache: Postfix reuses a busy connection for up to 300 s,
//   smtp_connection_reuse_time_limit), about 30 s at the default pace, longer than a
//   stopping pod's preStop sleep, so a pod that stops (421 at the next command) or dies (a
//   dropped connection) cuts sessions in the middle; the others open one connection per
//   message.
// - A 4xx, a refused, dropped or timed-out connection means "try again": the same message
//   (same id) after a short backoff (250 ms doubling to 2 s, with jitter), on a new
//   connection unless the old one is still up; until `giveUpMs`. A 5xx is a permanent
//   refusal, counted as such. A connection the server closed while idle is reopened
//   without counting as a failure (nothing was refused).
// A message counts as accepted only once the end of DATA got a 250; a 250 lost on a dropped
// connection means the message is sent again, which is the at-least-once window the
// duplicates measure (docs/reliability.md).
//
// "Longest 4xx" is measured per client: from the start of the attempt that first failed
// (the connect, or the MAIL FROM on a reused connection, so a connect that hangs until its
// timeout counts whole) to the 250 that finally took that message, backoff included.
import { setTimeout as sleep } from 'node:timers/promises';
import { openSession, type SmtpSession } from '../harness/smtp-session.ts';

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
  /** How many of the clients reuse one connection for several messages (default half, rounded up). */
  readonly sessionClients?: number;
  /** Messages a reusing client sends on one connection before QUIT (default 100). */
  readonly perSession?: number;
  /** Stop retrying a message after this long (default 5 minutes). */
  readonly giveUpMs?: number;
}

/** A stretch in which one client could not get a message accepted. */
export interface Outage {
  readonly client: number;
  /** Start of the first failed attempt, and the 250 that ended it (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** Failed attempts in it, by reason ("421", "451", "dropped", "refused", ...). */
  readonly reasons: Readonly<Record<string, number>>;
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
  /** Every stretch a client saw 4xx or connection failures, in the order they ended. */
  readonly outages: readonly Outage[];
  /** The longest of `outages` (0 when there were none). */
  readonly longestTransientMs: number;
  /** How many attempts failed transiently, by reason. */
  readonly transientFailures: Readonly<Record<string, number>>;
  /** Connections opened, and how many of them failed on a message after carrying at least one. */
  readonly connections: number;
  readonly sessionsCut: number;
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

/** The reason a transient failure is counted under: the reply code, or what the connection did. */
export function failureReason(reply: string): string {
  const code = /^(4\d\d)[\s-]/.exec(reply)?.[1];
  if (code) return code;
  if (/ECONNREFUSED/.test(reply)) return 'refused';
  if (/EHOSTUNREACH|ENETUNREACH/.test(reply)) return 'unreachable';
  if (/timeout|ETIMEDOUT/i.test(reply)) return 'timeout';
  if (/closed|ECONNRESET|EPIPE|unexpectedly/i.test(reply)) return 'dropped';
  return reply.split(/[\s:]/)[0] || 'error';
}

const backoffMs = (failures: number) => Math.min(250 * 2 ** (failures - 1), 2_000) * (0.75 + Math.random() / 2);

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const giveUpMs = o.giveUpMs ?? 5 * 60_000;
  const sessionClients = o.sessionClients ?? Math.ceil(o.clients / 2);
  const perSession = o.perSession ?? 100;
  const accepted: string[] = [];
  const queueIds = new Map<string, string>();
  const rejected: { id: string; reply: string }[] = [];
  const abandoned: string[] = [];
  const outages: Outage[] = [];
  const transientFailures: Record<string, number> = {};
  let connections = 0;
  let sessionsCut = 0;
  const started = Date.now();
  const interval = (o.seconds * 1000) / o.messages;

  const client = async (c: number) => {
    const limit = c < sessionClients ? perSession : 1;
    let session: SmtpSession | undefined;
    /** The client's current outage: when its first failed attempt started, and its failures. */
    let outage: { from: number; reasons: Record<string, number> } | undefined;

    const attempt = async (body: Buffer): Promise<string> => {
      const attemptStart = Date.now();
      let reply: string;
      if (session && !session.usable) {
        session.close();
        session = undefined;
      }
      const reused = session !== undefined;
      try {
        if (!session) {
          connections++;
          session = await openSession({ host: o.host, port: o.port, helo: 'load.e2e.test' });
        }
        reply = await session.send(o.from, [o.to], body);
      } catch (err) {
        reply = `connect ${(err as Error).message}`;
      }
      const ok = reply.startsWith('250');
      if (!ok && !/^5\d\d/.test(reply)) {
        if (reused && session && session.delivered > 0) sessionsCut++;
        outage ??= { from: attemptStart, reasons: {} };
        const reason = failureReason(reply);
        outage.reasons[reason] = (outage.reasons[reason] ?? 0) + 1;
        transientFailures[reason] = (transientFailures[reason] ?? 0) + 1;
      }
      // A new connection next when this one is gone, used up or closing (421); a message
      // it refused with another 4xx is retried on it.
      if (session && (!session.usable || session.delivered >= limit || reply.startsWith('421'))) {
        session.close();
        session = undefined;
      }
      return reply;
    };

    const sendOne = async (id: string) => {
      const body = message(o.from, o.to, id);
      let failures = 0;
      const firstTry = Date.now();
      for (;;) {
        const reply = await attempt(body);
        if (reply.startsWith('250')) {
          accepted.push(id);
          const queueId = /queued as (\S+)/.exec(reply)?.[1];
          if (queueId) queueIds.set(id, queueId);
          if (outage) outages.push({ client: c, from: outage.from, to: Date.now(), reasons: outage.reasons });
          outage = undefined;
          return;
        }
        if (/^5\d\d/.test(reply)) {
          rejected.push({ id, reply });
          return;
        }
        failures++;
        if (Date.now() - firstTry > giveUpMs) {
          abandoned.push(id);
          return;
        }
        await sleep(backoffMs(failures));
      }
    };

    // Message i is due at started + i * interval; client c takes i = c, c + clients, ...
    for (let i = c; i < o.messages; i += o.clients) {
      const due = started + i * interval;
      if (due > Date.now()) await sleep(due - Date.now());
      await sendOne(`${o.idPrefix}-${String(i).padStart(5, '0')}`);
    }
    session?.close();
  };

  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  const longestTransientMs = outages.reduce((m, x) => Math.max(m, x.to - x.from), 0);
  return { accepted, queueIds, rejected, abandoned, outages, longestTransientMs, transientFailures, connections, sessionsCut, elapsedMs: Date.now() - started };
}
