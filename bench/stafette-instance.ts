// Stafette as the benchmark runs it: a real nats-server -js (file storage, R1) and
// `stafette mta` with only the mx listener, a bundle with the benchmark's recipient domain,
// and the accepted-message counter read from /metrics to check every message was taken.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleFiles, minimalBundle, writePlainFiles } from '../mta/src/config/load-bundle-fixture.ts';
import { startNatsServer, type NatsServer } from '../test/harness/nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../test/harness/process.ts';

const repoRoot = resolve(import.meta.dirname, '..');

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
}

export async function startStafette(opts: StafetteBenchOptions): Promise<StafetteInstance> {
  const domain = opts.recipient.slice(opts.recipient.lastIndexOf('@') + 1);
  const configDir = join(opts.dir, 'bundle');
  const files = bundleFiles(minimalBundle('bench', [opts.recipient], domain));
  writePlainFiles(configDir, { ...files.config, ...files.secrets });

  let nats: NatsServer | undefined;
  let mta: ManagedProcess | undefined;
  try {
    mkdirSync(join(opts.dir, 'nats'), { recursive: true });
    nats = await startNatsServer({ name: 'nats-bench', dir: join(opts.dir, 'nats'), syncInterval: opts.syncInterval });
    const port = await freePort();
    const opsPort = await freePort();
    mta = startProcess('stafette-mta', process.execPath, [
      join(repoRoot, 'cli/stafette.ts'), 'mta',
      '--config-dir', configDir,
      '--nats', nats.url,
      '--listeners', 'mx',
      // The intake alone: this benchmark measures accepting, and nothing here receives deliveries.
      '--no-delivery',
      '--smtp-host', '127.0.0.1',
      '--mx-port', String(port),
      '--mx-greeting-delay', String(opts.greetingDelayMs),
      '--no-mx-reverse-dns',
      // One load generator on one address opens every session: the per-address limit is for the Internet.
      '--max-connections-per-ip', '1000',
      '--ops-host', '127.0.0.1',
      '--ops-port', String(opsPort),
      '--log-level', 'warn',
    ], { logDir: opts.dir });
    const started = mta;
    const metrics = async () => await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    await waitFor('stafette mta to be ready', async () => {
      if (started.child.exitCode !== null) throw new Error(`stafette mta exited; see ${started.logFile}`);
      return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const server = nats;
    return {
      port,
      async accepted() {
        const line = (await metrics()).split('\n').find((l) => l.startsWith('stafette_smtp_messages_accepted_total{listener="mx"} '));
        return line ? Number(line.split(' ')[1]) : 0;
      },
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
