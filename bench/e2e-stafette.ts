// Stafette as the benchmarks run it: a real nats-server -js (file storage, R1) and
// `stafette mta` with the mx listener only (no reverse DNS, 1,000 connections per address:
// one load generator opens every session). For the end-to-end benchmark it runs WITH its
// delivery workers and a bundle whose one mailbox (the benchmark's recipient) is delivered
// by LMTP to smtp-sink -L; for bench:intake (no `lmtp`) it runs the intake alone. The mx listener relays for nobody without AUTH (recipient-policy.ts),
// so the recipient must be one of our mailboxes; LMTP to the sink is then one hop, like
// Postfix's relayhost.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleFiles, minimalBundle, writePlainFiles } from '../mta/src/config/load-bundle-fixture.ts';
import { startNatsServer, type NatsServer } from '../test/harness/nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../test/harness/process.ts';
import { parse } from 'yaml';
import { findPid } from './proc-stats.ts';

const repoRoot = resolve(import.meta.dirname, '..');

export interface StafetteE2e {
  readonly port: number;
  /** The MTA's and nats-server's PIDs. */
  readonly pids: readonly number[];
  /** nats-server's monitoring port (/connz counts the MTA's messages to the server). */
  readonly natsMonitorPort: number;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface StafetteE2eOptions {
  readonly dir: string;
  readonly recipient: string;
  /** Where the recipient's mail goes; without it no delivery workers run (intake only). */
  readonly lmtp?: { host: string; port: number };
  /** The mx listener's pause before the greeting (default 0; the MTA's own default is 100 ms). */
  readonly greetingDelayMs?: number;
  /** JetStream sync_interval ('always' = fsync per write); server default when unset. */
  readonly syncInterval?: string;
  /** Delivery workers; the MTA's default when unset. */
  readonly deliveryWorkers?: number;
  /** SPF/DKIM/ARC/DMARC on mx against this DNS server ("ip:port"); unset: the checks are off. */
  readonly inboundChecksDns?: string;
  /** Connections the mx listener serves at once (--max-connections); the MTA's default when unset. */
  readonly maxConnections?: number;
  /** Connections per client address (default 1,000: one load generator opens every session). */
  readonly maxConnectionsPerIp?: number;
  /** More node options for the MTA process, e.g. --cpu-prof (profiling); after the chart's, so they win. */
  readonly nodeOptions?: readonly string[];
  /** More nats-server configuration, e.g. `prof_port` to read its Go runtime's memory. */
  readonly natsExtraConfig?: string;
}

export async function startStafetteE2e(opts: StafetteE2eOptions): Promise<StafetteE2e> {
  const domain = opts.recipient.slice(opts.recipient.lastIndexOf('@') + 1);
  const configDir = join(opts.dir, 'bundle');
  const parts = minimalBundle('bench-e2e', [opts.recipient], domain);
  const lmtp = opts.lmtp;
  const bundle = lmtp
    ? { ...parts.bundle, mailboxes: parts.bundle.mailboxes.map((m) => ({ ...m, delivery: { type: 'lmtp' as const, host: lmtp.host, port: lmtp.port } })) }
    : parts.bundle;
  const files = bundleFiles({ bundle, secrets: parts.secrets });
  writePlainFiles(configDir, { ...files.config, ...files.secrets });

  let nats: NatsServer | undefined;
  let mta: ManagedProcess | undefined;
  try {
    const natsDir = join(opts.dir, 'nats');
    mkdirSync(natsDir, { recursive: true });
    nats = await startNatsServer({ name: 'nats-bench', dir: natsDir, syncInterval: opts.syncInterval, extraConfig: opts.natsExtraConfig });
    const natsPid = findPid(join(natsDir, 'nats-bench.conf'));
    const port = await freePort();
    const opsPort = await freePort();
    mta = startProcess(
      'stafette-mta',
      process.execPath,
      [
        // The MTA runs as a chart-installed pod does, with the chart's V8 heap flags.
        ...chartMtaNodeOptions(),
        // STAFETTE_BENCH_MTA_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/p" profiles the MTA.
        ...(opts.nodeOptions ?? (process.env.STAFETTE_BENCH_MTA_NODE_OPTIONS ?? '').split(' ').filter(Boolean)),
        join(repoRoot, 'cli/stafette.ts'),
        'mta',
        '--config-dir',
        configDir,
        '--nats',
        nats.url,
        '--listeners',
        'mx',
        // The platform's delivery-target allow-list (docs/trust-model.md) must name the sink.
        ...(lmtp ? ['--allow-lmtp-host', lmtp.host] : []),
        ...(!lmtp ? ['--no-delivery'] : opts.deliveryWorkers === undefined ? [] : ['--delivery-workers', String(opts.deliveryWorkers)]),
        '--local-maildir-root',
        join(opts.dir, 'mail'),
        '--smtp-host',
        '127.0.0.1',
        '--mx-port',
        String(port),
        '--mx-greeting-delay',
        String(opts.greetingDelayMs ?? 0),
        '--no-mx-reverse-dns',
        '--max-connections-per-ip',
        String(opts.maxConnectionsPerIp ?? 1000),
        ...(opts.maxConnections === undefined ? [] : ['--max-connections', String(opts.maxConnections)]),
        // The shared rate limits stay on (counted in JetStream KV, as in production), set high
        // enough for one load generator that is every client: 120 connections a minute would
        // stop the benchmark in its first second.
        '--connections-per-ip-per-minute',
        '100000000',
        '--messages-per-ip-per-minute',
        '100000000',
        '--ops-host',
        '127.0.0.1',
        '--ops-port',
        String(opsPort),
        '--log-level',
        process.env.STAFETTE_BENCH_LOG_LEVEL ?? 'warn',
        ...(opts.inboundChecksDns ? ['--dns', opts.inboundChecksDns] : ['--no-inbound-checks']),
        // Several benchmark MTAs run side by side: none serves MTA-STS policies (the fixed 8443).
        '--no-mta-sts-server',
      ],
      { logDir: opts.dir },
    );
    const started = mta;
    await waitFor(
      'stafette mta to be ready',
      async () => {
        if (started.child.exitCode !== null) throw new Error(`stafette mta exited; see ${started.logFile}`);
        return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const server = nats;
    return {
      port,
      pids: [started.pid, natsPid],
      natsMonitorPort: server.monitorPort,
      metrics: async () => await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text(),
      async stop() {
        await started.stop('SIGTERM', 30_000);
        await server.destroy();
      },
    };
  } catch (err) {
    await mta?.stop('SIGKILL', 0);
    await nats?.destroy();
    throw err;
  }
}

/**
 * The V8 flags a chart-installed MTA pod gets in NODE_OPTIONS (mta.maxHeapMiB, mta.maxSemiSpaceMiB
 * of charts/stafette/values.yaml, rendered by "stafette.mtaNodeOptions" in templates/_helpers.tpl).
 * A later --max-old-space-size=0 --max-semi-space-size=0 gives V8's own sizing back.
 */
export function chartMtaNodeOptions(): string[] {
  const values = parse(readFileSync(join(repoRoot, 'charts/stafette/values.yaml'), 'utf8')) as { mta: { maxHeapMiB: number; maxSemiSpaceMiB: number } };
  const { maxHeapMiB, maxSemiSpaceMiB } = values.mta;
  return [...(maxHeapMiB > 0 ? [`--max-old-space-size=${maxHeapMiB}`] : []), ...(maxSemiSpaceMiB > 0 ? [`--max-semi-space-size=${maxSemiSpaceMiB}`] : [])];
}

/** The value of one sample line of a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
