// The end-to-end latency client: smtp-source does not say when each message was accepted, and
// the sink does not say which message arrived when, so this client sends its own messages, one
// SMTP session per message over N parallel sessions (the shape of the smtp-source load), each
// with a unique `X-Bench-Id` header, and notes the wall-clock time it read each 250. The sink
// dumps every message to a file (smtp-sink -d); the file's mtime is the arrival time. Latency =
// arrival − 250, per message, for every system measured the same way.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { benchMessage } from './smtp-load.ts';

export interface MarkedLoad {
  readonly host: string;
  readonly port: number;
  readonly messages: number;
  readonly sessions: number;
  readonly size: number;
  readonly from: string;
  readonly to: string;
  /** Prefix of the X-Bench-Id values, unique per pass. */
  readonly tag: string;
}

export interface MarkedResult {
  /** X-Bench-Id → wall-clock time (epoch ms, fractional) the 250 was read. */
  readonly acceptedAt: Map<string, number>;
  readonly failures: number;
  readonly firstFailure: string | null;
}

/** Wall-clock now in fractional epoch milliseconds. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function sendMarked(load: MarkedLoad, deadlineMs: number): Promise<MarkedResult> {
  const deadline = performance.now() + deadlineMs;
  const acceptedAt = new Map<string, number>();
  let failures = 0;
  let firstFailure: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < load.messages && performance.now() < deadline) {
      const id = `${load.tag}-${next++}`;
      const header = Buffer.from(`X-Bench-Id: ${id}\r\n`, 'latin1');
      const message = Buffer.concat([header, benchMessage(load.size - header.length, load.from, load.to)]);
      try {
        acceptedAt.set(id, await sendOne(load, message, Math.max(1, deadline - performance.now())));
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: load.sessions }, worker));
  return { acceptedAt, failures, firstFailure };
}

/** One session: EHLO, MAIL, RCPT, DATA, QUIT; returns when the 250 after DATA was read (epoch ms). */
async function sendOne(load: MarkedLoad, message: Buffer, timeoutMs: number): Promise<number> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: load.host, port: load.port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true); // else Nagle + delayed ACK hold the final "." ~40 ms
  const replies = replyReader(socket, timeoutMs);
  try {
    await replies.expect(220);
    socket.write('EHLO bench.client\r\n');
    await replies.expect(250);
    socket.write(`MAIL FROM:<${load.from}>\r\n`);
    await replies.expect(250);
    socket.write(`RCPT TO:<${load.to}>\r\n`);
    await replies.expect(250);
    socket.write('DATA\r\n');
    await replies.expect(354);
    socket.write(Buffer.concat([message, Buffer.from('.\r\n')]));
    await replies.expect(250);
    const accepted = nowMs();
    socket.write('QUIT\r\n');
    await replies.expect(221).catch(() => undefined);
    return accepted;
  } finally {
    socket.destroy();
  }
}

function replyReader(socket: Socket, timeoutMs: number) {
  let buffer = '';
  let waiting: (() => void) | null = null;
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    waiting?.();
  });
  socket.on('close', () => {
    closed = true;
    waiting?.();
  });
  socket.on('error', () => undefined);
  const timer = setTimeout(() => socket.destroy(new Error('timed out')), timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  return {
    async expect(code: number): Promise<void> {
      for (;;) {
        const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
        if (match) {
          const end = match.index + match[0].length;
          const reply = buffer.slice(0, end);
          buffer = buffer.slice(end);
          if (Number(match[2]) !== code) throw new Error(`expected ${code}, got ${JSON.stringify(reply.trim())}`);
          return;
        }
        if (closed) throw new Error(`connection closed while waiting for ${code}`);
        await new Promise<void>((resolve) => { waiting = resolve; });
        waiting = null;
      }
    },
  };
}
