// Stafette as bench:intake runs it: the intake alone (no delivery workers), and the
// accepted-message counter read from /metrics to check every message was taken.
import { metricValue, startStafetteE2e } from './e2e-stafette.ts';

export interface StafetteInstance {
  readonly port: number;
  /** stafette_smtp_messages_accepted_total. */
  accepted(): Promise<number>;
  stop(): Promise<void>;
}

export interface StafetteBenchOptions {
  readonly dir: string;
  readonly recipient: string;
  /** JetStream sync_interval ('always' = fsync per write, as Postfix does); server default when unset. */
  readonly syncInterval?: string;
  /** The mx listener's pause before the greeting (the MTA's default is 100 ms). */
  readonly greetingDelayMs: number;
  /** Run the inbound checks against this DNS server ("ip:port"); unset: checks off. */
  readonly inboundChecksDns?: string;
}

export async function startStafette(opts: StafetteBenchOptions): Promise<StafetteInstance> {
  const stafette = await startStafetteE2e(opts);
  return {
    port: stafette.port,
    accepted: async () => metricValue(await stafette.metrics(), 'stafette_smtp_messages_accepted_total{listener="mx"}'),
    stop: () => stafette.stop(),
  };
}
