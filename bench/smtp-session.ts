// One SMTP session per message, as smtp-source sends them (EHLO, MAIL, RCPT, DATA, QUIT),
// driven over a raw socket so the benchmarks can time the moments smtp-source does not
// report: the end of DATA and the 250 that answers it.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface SessionTarget {
  readonly host: string;
  readonly port: number;
  readonly from: string;
  readonly to: string;
}

export interface SessionTimes {
  /** performance.now() when the body was written, just before the final ".". */
  readonly endOfData: number;
  /** performance.now() when the 250 after DATA was read. */
  readonly accepted: number;
}

/**
 * Sends `message` (without the terminating ".") in one session. With `strictQuit` a missing
 * 221 after QUIT fails the session; without, the message counts once its 250 was read.
 */
export async function sendInOneSession(target: SessionTarget, message: Buffer, timeoutMs: number, strictQuit: boolean): Promise<SessionTimes> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: target.host, port: target.port }, () => resolve(s));
    s.once('error', reject);
  });
  // Without this, Nagle's algorithm holds the final "." until the server's delayed ACK of
  // the body (~40 ms on Linux), which would be measured as the server's latency.
  socket.setNoDelay(true);
  const replies = replyReader(socket, timeoutMs);
  try {
    await replies.expect(220);
    socket.write('EHLO bench.client\r\n');
    await replies.expect(250);
    socket.write(`MAIL FROM:<${target.from}>\r\n`);
    await replies.expect(250);
    socket.write(`RCPT TO:<${target.to}>\r\n`);
    await replies.expect(250);
    socket.write('DATA\r\n');
    await replies.expect(354);
    socket.write(message);
    const endOfData = performance.now();
    socket.write('.\r\n');
    await replies.expect(250);
    const accepted = performance.now();
    socket.write('QUIT\r\n');
    const quit = replies.expect(221);
    await (strictQuit ? quit : quit.catch(() => undefined));
    return { endOfData, accepted };
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
    /** Reads one whole reply and checks its code. */
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
        await new Promise<void>((resolve) => {
          waiting = resolve;
        });
        waiting = null;
      }
    },
  };
}
