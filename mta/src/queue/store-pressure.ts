// How full the queue's JetStream store is, for intake's admission (docs/reliability.md
// "Limits"): every few seconds (refreshMs, default 5 s) the stream info of the job stream
// MAILQ, the body bucket's stream, the retry stream MAILQ_DEFER and the ledger MAILQ_DONE is
// read, and each stream's bytes are compared with its cap (its max_bytes, or for MAILQ_DEFER,
// which cannot have one, the retryMaxBytes budget). At nearFullRatio (default 90%) of any cap,
// new mail is refused at MAIL FROM with 452 4.3.1 (RFC 5321 §4.5.3.1.10 "insufficient system
// storage"), so the streams never reach the point where a write of mail already accepted
// (a retry, a ledger entry, a DSN) would fail. Reading NATS never blocks a session: intake
// asks the cached answer. An unreadable stream keeps the last answer (NATS outages are the
// queue publisher's business: 451).
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../observability/logger.ts';
import { deferStreamName } from './deferred-names.ts';
import { bodyStreamName, type QueueSettings } from './settings.ts';

export interface StreamUsage {
  readonly stream: string;
  readonly bytes: number;
  /** The cap compared with; -1: none. */
  readonly capBytes: number;
}

export interface StorePressure {
  /** True when any stream is at nearFullRatio of its cap (as of the last read). */
  nearFull(): boolean;
  /** The last reading, per stream. */
  usage(): readonly StreamUsage[];
  /** Reads the streams now (also done every refreshMs). */
  refresh(): Promise<void>;
  stop(): void;
}

/** Pure: is any stream at `ratio` of its cap? */
export function isNearFull(usage: readonly StreamUsage[], ratio: number): boolean {
  return usage.some((u) => u.capBytes > 0 && u.bytes >= u.capBytes * ratio);
}

export function watchStorePressure(opts: { nc: NatsConnection; settings: QueueSettings; logger: Logger; refreshMs?: number }): StorePressure {
  const { settings } = opts;
  const streams = [settings.streamName, bodyStreamName(settings), deferStreamName(settings), `${settings.streamName}_DONE`];
  let last: StreamUsage[] = [];
  let full = false;
  const refresh = async () => {
    const jsm = await jetstreamManager(opts.nc);
    const read: StreamUsage[] = [];
    for (const stream of streams) {
      try {
        const info = await jsm.streams.info(stream);
        const cap = info.config.max_bytes > 0 ? info.config.max_bytes : stream === deferStreamName(settings) ? settings.retryMaxBytes : -1;
        read.push({ stream, bytes: info.state.bytes, capBytes: cap });
      } catch {
        const kept = last.find((u) => u.stream === stream);
        if (kept) read.push(kept);
      }
    }
    last = read;
    const now = isNearFull(read, settings.nearFullRatio);
    if (now !== full) {
      if (now) opts.logger.warn('queue store near full: refusing new mail with 452 4.3.1', { usage: read });
      else opts.logger.info('queue store below the near-full mark again: taking mail', { usage: read });
    }
    full = now;
  };
  const timer = setInterval(() => void refresh().catch(() => {}), opts.refreshMs ?? 5_000);
  timer.unref();
  return { nearFull: () => full, usage: () => last, refresh, stop: () => clearInterval(timer) };
}
