// The end-to-end latency client: smtp-source does not say when each message was accepted, and
// the sink does not say which message arrived when, so this client sends its own messages, one
// SMTP session per message over N parallel sessions (the shape of the smtp-source load), each
// with a unique `X-Bench-Id` header, and notes the wall-clock time it read each 250. The sink
// dumps every message to a file (smtp-sink -d); the file's mtime is the arrival time. Latency =
// arrival − 250, per message, for every system measured the same way.
import { performance } from 'node:perf_hooks';
import { benchMessage } from './smtp-load.ts';
import { sendInOneSession } from './smtp-session.ts';

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
        const times = await sendInOneSession(load, message, Math.max(1, deadline - performance.now()), false);
        acceptedAt.set(id, performance.timeOrigin + times.accepted);
      } catch (err) {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: load.sessions }, worker));
  return { acceptedAt, failures, firstFailure };
}
