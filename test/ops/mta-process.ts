// `stafette mta` as a real process for the operations tests: a real nats-server -js, the
// bundle mounted the way Kubernetes mounts a ConfigMap and a Secret (two directories with the
// `..data` symlink swap), the mx listener and the operations port on free loopback ports,
// and no delivery workers (an intake-only pod), so accepted mail stays queued.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFiles, minimalBundle, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { testMtaArgv } from '../harness/mta-argv.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../harness/process.ts';

export const testDomain = 'example.test';

export interface MtaProcess {
  readonly nats: NatsServer;
  readonly mta: ManagedProcess;
  readonly dir: string;
  readonly configDir: string;
  readonly secretDir: string;
  /** The mx listener. */
  readonly mx: { host: string; port: number };
  readonly opsPort: number;
  /** GET on the operations port. */
  ops(path: string): Promise<{ status: number; text: string }>;
  /** The value of one series on /metrics (exact series text, labels included), or undefined. */
  metric(series: string): Promise<number | undefined>;
  /** Mounts a new bundle revision with these mailboxes (both parts, like the operator's update). */
  publishBundle(revision: string, addresses: string[]): void;
  /** Mounts both parts as given. */
  publishParts(parts: { bundle: unknown; secrets: unknown }): void;
  close(): Promise<void>;
}

export async function startMtaProcess(opts: {
  name: string;
  addresses: string[];
  shutdownTimeoutSeconds?: number;
  /** The first bundle; default: minimalBundle('r1', addresses). */
  initial?: { bundle: unknown; secrets: unknown };
}): Promise<MtaProcess> {
  const nats = await startNatsServer({ name: `nats-${opts.name}` });
  const dir = mkdtempSync(join(tmpdir(), `stafette-${opts.name}-`));
  const configDir = join(dir, 'config');
  const secretDir = join(dir, 'secret');
  const publishParts = (parts: { bundle: unknown; secrets: unknown }) => {
    const files = bundleFiles(parts);
    writeMountedFiles(configDir, files.config);
    writeMountedFiles(secretDir, files.secrets);
  };
  const publishBundle = (revision: string, addresses: string[]) => publishParts(minimalBundle(revision, addresses, testDomain));
  if (opts.initial) publishParts(opts.initial);
  else publishBundle('r1', opts.addresses);

  const mxPort = await freePort();
  const opsPort = await freePort();
  const mta = startProcess(
    `mta-${opts.name}`,
    process.execPath,
    testMtaArgv({
      configDir,
      secretDir,
      nats: nats.url,
      instance: opts.name,
      mxPort,
      opsPort,
      extra: [
        '--shutdown-timeout',
        String(opts.shutdownTimeoutSeconds ?? 20),
        // The directory watch is the fast path; a short re-check keeps the tests quick if it misses.
        '--config-recheck',
        '1',
        // These tests look at what intake stored; no delivery workers may take it away.
        '--no-delivery',
        // Operations, not mail standards (test/sender-auth/, test/mta-sts/): no checks against the
        // system's DNS, and no policy listener on the fixed 8443 that parallel MTAs would share.
        '--no-inbound-checks',
        '--no-mta-sts-server',
      ],
    }),
    { logDir: dir },
  );

  const ops = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${opsPort}${path}`);
    return { status: res.status, text: await res.text() };
  };
  const metric = async (series: string) => {
    const { text } = await ops('/metrics');
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const close = async () => {
    await mta.stop('SIGTERM', 30_000);
    await nats.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the MTA to be ready',
      async () => {
        if (mta.child.exitCode !== null) throw new Error(`stafette mta exited; see ${mta.logFile}`);
        return (await ops('/readyz')).status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { nats, mta, dir, configDir, secretDir, mx: { host: '127.0.0.1', port: mxPort }, opsPort, ops, metric, publishBundle, publishParts, close };
}
