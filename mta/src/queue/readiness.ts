// Is the queue usable right now? The pod's readiness probe asks this, so a pod that cannot
// store mail leaves the Service endpoints and senders are sent to a healthy pod (or retry).
//
// Ready means: the NATS connection is up AND the job stream answers an info request within
// the probe timeout. The second half catches what connection status alone misses: JetStream
// without a stream leader, a partitioned or overloaded server ("NATS is slow"), a stream
// deleted by hand. It costs one small API request per probe (every few seconds per pod).
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ConnectionWatch } from './connection.ts';
import type { QueueSettings } from './settings.ts';
import { describeError } from '../errors.ts';

export interface QueueReadinessState {
  readonly ready: boolean;
  /** Why not ready, for the probe's response body and logs; null when ready. */
  readonly reason: string | null;
}

export interface QueueReadiness {
  /** Probes the queue now. Never throws. */
  check(): Promise<QueueReadinessState>;
  /** The result of the last check() (not ready before the first one). */
  readonly last: QueueReadinessState;
}

export interface ReadinessOptions {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly watch: ConnectionWatch;
  /** How long the stream may take to answer (default 2000 ms). */
  readonly probeTimeoutMs?: number;
}

export function createQueueReadiness(opts: ReadinessOptions): QueueReadiness {
  const timeout = opts.probeTimeoutMs ?? 2_000;
  let jsm: Promise<JetStreamManager> | undefined;
  let last: QueueReadinessState = { ready: false, reason: 'not checked yet' };
  const remember = (state: QueueReadinessState): QueueReadinessState => (last = state);

  return {
    get last() {
      return last;
    },
    async check() {
      if (!opts.watch.connected) {
        return remember({ ready: false, reason: `NATS not connected${opts.watch.lastProblem ? `: ${opts.watch.lastProblem}` : ''}` });
      }
      try {
        // checkAPI false: creating the manager must not itself need a round trip.
        jsm ??= jetstreamManager(opts.nc, { timeout, checkAPI: false });
        await (await jsm).streams.info(opts.settings.streamName);
        return remember({ ready: true, reason: null });
      } catch (err) {
        return remember({ ready: false, reason: `stream ${opts.settings.streamName} did not answer: ${describeError(err)}` });
      }
    },
  };
}
