// The two loads of the intake benchmark, both one SMTP session per message:
//
// - throughput: Postfix's smtp-source (the standard load tool, reference/performance.md),
//   timed from start to exit; accepted/s = messages / wall time.
// - latency: smtp-source reports no per-message times, so a small client of ours sends the
//   same kind of messages over the same number of parallel sessions and times, for each,
//   the span from writing the final "." of DATA to reading the 250 reply.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadShape {
  readonly host: string;
  readonly port: number;
  readonly messages: number;
  readonly sessions: number;
  /** Message size in bytes. */
  readonly size: number;
  readonly from: string;
  readonly to: string;
}

/** Runs smtp-source; resolves with the wall time in seconds. Killed (and rejected) after timeoutMs. */
export function runSmtpSource(load: LoadShape, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-s', String(load.sessions), '-m', String(load.messages), '-l', String(load.size), '-f', load.from, '-t', load.to, `${load.host}:${load.port}`];
    const started = performance.now();
    const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`smtp-source did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve(seconds);
      else reject(new Error(`smtp-source exited ${code}: ${stderr.trim()}`));
    });
  });
}

/** A message of exactly `size` bytes before the terminating dot: headers, then 76-character lines. */
export function benchMessage(size: number, from: string, to: string): Buffer {
  let text = `From: <${from}>\r\nTo: <${to}>\r\nSubject: benchmark\r\n\r\n`;
  while (text.length < size) text += `${'x'.repeat(76)}\r\n`;
  text = text.slice(0, size - 2);
  // A cut between CR and LF would leave a bare CR.
  if (text.endsWith('\r')) text = `${text.slice(0, -1)}x`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

export interface LatencyResult {
  /** Seconds from the final "." to the 250, one per accepted message. */
  readonly samples: number[];
  readonly failures: number;
  readonly firstFailure: string | null;
}

/** Sends `load.messages` messages over `load.sessions` parallel connections, one connection per message. */
export async function measureDataLatency(load: LoadShape, deadlineMs: number): Promise<LatencyResult> {
  const message = benchMessage(load.size, load.from, load.to);
  const deadline = performance.now() + deadlineMs;
  const samples: number[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < load.messages && performance.now() < deadline) {
      next++;
      try {
        samples.push(await sendOne(load, message, Math.max(1, deadline - performance.now())));
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: load.sessions }, worker));
  return { samples, failures, firstFailure };
}

/** One session: EHLO, MAIL, RCPT, DATA, QUIT; returns the end-of-DATA → 250 time in seconds. */
async function sendOne(load: LoadShape, message: Buffer, timeoutMs: number): Promise<number> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: load.host, port: load.port }, () => resolve(s));
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
    socket.write(`MAIL FROM:<${load.from}>\r\n`);
    await replies.expect(250);
    socket.write(`RCPT TO:<${load.to}>\r\n`);
    await replies.expect(250);
    socket.write('DATA\r\n');
    await replies.expect(354);
    socket.write(message);
    const endOfData = performance.now();
    socket.write('.\r\n');
    await replies.expect(250);
    const seconds = (performance.now() - endOfData) / 1000;
    socket.write('QUIT\r\n');
    await replies.expect(221);
    return seconds;
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
        await new Promise<void>((resolve) => { waiting = resolve; });
        waiting = null;
      }
    },
  };
}

/** The q-quantile (0..1) of the samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
