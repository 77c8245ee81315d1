// The two loads of the intake benchmark, both one SMTP session per message:
//
// - throughput: Postfix's smtp-source (the standard load tool, docs/performance.md §2.1),
//   timed from start to exit; accepted/s = messages / wall time.
// - latency: smtp-source reports no per-message times, so a small client of ours sends the
//   same kind of messages over the same number of parallel sessions and times, for each,
//   the span from writing the final "." of DATA to reading the 250 reply.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { sendInOneSession } from './smtp-session.ts';

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
    const args = [
      '-s',
      String(load.sessions),
      '-m',
      String(load.messages),
      '-l',
      String(load.size),
      '-f',
      load.from,
      '-t',
      load.to,
      `${load.host}:${load.port}`,
    ];
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
        const times = await sendInOneSession(load, message, Math.max(1, deadline - performance.now()), true);
        samples.push((times.accepted - times.endOfData) / 1000);
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: load.sessions }, worker));
  return { samples, failures, firstFailure };
}

export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
