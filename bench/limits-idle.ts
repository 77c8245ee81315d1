// The idle-session half of `npm run bench:limits`: N concurrent SMTP sessions that said EHLO
// and then wait, held open on one MTA process whose mx listener serves exactly N at once
// (--max-connections N). The MTA's RSS (/proc/<pid>/statm) is read with 0, N/2 and N sessions
// open, after a pause for the process to settle; the cost per idle session is the growth
// divided by the sessions added. Then one client more connects, and its first reply must be
// a 421 (smtp-server-overrides.ts: "Too many connected clients"), not a silent close.
// Every session is opened before the listener's idle timeout (60 s) would close the first.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssBytes } from './proc-stats.ts';

export interface IdleResult {
  /** Sessions open at each reading, and the MTA's RSS in bytes then. */
  readonly readings: { sessions: number; rss: number }[];
  /** The first reply the client past the limit read (or what happened instead). */
  readonly overLimitReply: string;
  /** Sessions that failed to reach the idle state (no 220 or no EHLO 250). */
  readonly failures: number;
  readonly firstFailure: string | null;
}

/** Reads from `socket` until a complete (last-line) SMTP reply arrives; resolves with it. */
function readReply(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const done = (err: Error | null, reply?: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(reply!);
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const m = /(^|\r\n)\d{3} [^\r\n]*\r\n/.exec(buffer);
      if (m) done(null, buffer.slice(0, m.index + m[0].length).trim());
    };
    const onClose = () => done(new Error(`closed before a reply${buffer ? ` (read ${JSON.stringify(buffer)})` : ''}`));
    const timer = setTimeout(() => done(new Error('no reply within the timeout')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** One session brought to idle: 220 read, EHLO answered with 250. */
async function idleSession(host: string, port: number): Promise<Socket> {
  const socket = await open(host, port);
  socket.on('error', () => undefined);
  try {
    const greeting = await readReply(socket, 20_000);
    if (!greeting.startsWith('220')) throw new Error(`greeting ${JSON.stringify(greeting)}`);
    socket.write('EHLO idle.bench\r\n');
    const ehlo = await readReply(socket, 20_000);
    if (!/^250[ -]/.test(ehlo)) throw new Error(`EHLO answered ${JSON.stringify(ehlo)}`);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

export async function measureIdleSessions(opts: { host: string; port: number; mtaPid: number; sessions: number; settleMs: number }): Promise<IdleResult> {
  const sockets: Socket[] = [];
  const readings: { sessions: number; rss: number }[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  const read = async () => {
    await sleep(opts.settleMs);
    readings.push({ sessions: sockets.length, rss: rssBytes([opts.mtaPid]) });
  };
  const openUpTo = async (target: number) => {
    // 50 handshakes in flight at a time: fast, without a SYN flood on the backlog.
    while (sockets.length + failures < target) {
      const batch = Math.min(50, target - sockets.length - failures);
      const results = await Promise.allSettled(Array.from({ length: batch }, () => idleSession(opts.host, opts.port)));
      for (const r of results) {
        if (r.status === 'fulfilled') sockets.push(r.value);
        else {
          failures++;
          firstFailure ??= r.reason instanceof Error ? r.reason.message : String(r.reason);
        }
      }
    }
  };
  try {
    await read();
    await openUpTo(Math.floor(opts.sessions / 2));
    await read();
    await openUpTo(opts.sessions);
    await read();
    let overLimitReply: string;
    const extra = await open(opts.host, opts.port).catch((err: unknown) => err as Error);
    if (extra instanceof Error) overLimitReply = `connect failed: ${extra.message}`;
    else {
      extra.on('error', () => undefined);
      overLimitReply = await readReply(extra, 10_000).catch((err: unknown) => `no reply: ${(err as Error).message}`);
      extra.destroy();
    }
    return { readings, overLimitReply, failures, firstFailure };
  } finally {
    for (const s of sockets) s.destroy();
  }
}
