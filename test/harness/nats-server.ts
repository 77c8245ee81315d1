// A real nats-server with JetStream for integration tests: one node on a free loopback
// port with a throwaway store directory, or a 3-node cluster (routes on loopback) for
// failover tests. A server can be stopped and started again on the same ports and store
// directory, which is what outage tests need. The binary is built from the Go module proxy
// by tools/go-build/nats-server.sh (which owns the version) and cached.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startProcess, waitFor, type ManagedProcess } from './process.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

let cachedBinary: string | undefined;

/** Path of the nats-server binary, building it on first use. STAFETTE_NATS_SERVER overrides. */
export function natsServerBinary(): string {
  cachedBinary ??=
    process.env.STAFETTE_NATS_SERVER ??
    execFileSync('bash', [join(repoRoot, 'tools/go-build/nats-server.sh'), '--print-bin'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  return cachedBinary;
}

export interface NatsServerOptions {
  /** Server name, also the log file name. */
  name?: string;
  /** max_payload in bytes (server default 1 MiB). */
  maxPayload?: number;
  /** JetStream sync_interval, e.g. 'always' (docs/reliability.md §4); server default when unset. */
  syncInterval?: string;
  /** Directory for logs and store; a fresh temp directory when unset. */
  dir?: string;
  /** More configuration, e.g. an `authorization` block rendered by mta/src/queue/nats-roles.ts. */
  extraConfig?: string;
  /** Environment of the server process (NATS configuration resolves `$NAME` from it). */
  env?: Record<string, string>;
  /** TLS on the client port: the server's certificate files, and whether clients must present one. */
  tls?: { certFile: string; keyFile: string; caFile?: string; verify?: boolean };
}

export interface NatsServer {
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly storeDir: string;
  readonly dir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Starts (or restarts) the server on the same ports and store, and waits until JetStream is healthy. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after the grace period). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting, e.g. SIGSTOP/SIGCONT to make the server hang and resume. */
  signal(signal: NodeJS.Signals): void;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

interface ClusterPeer {
  clusterPort: number;
  routes: number[];
}

function renderConfig(name: string, port: number, monitorPort: number, storeDir: string, opts: NatsServerOptions, cluster?: ClusterPeer): string {
  const lines = [
    `server_name: ${JSON.stringify(name)}`,
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${monitorPort}"`,
    // The client notices a dead server through pings; keep test outages short to detect.
    'ping_interval: "5s"',
  ];
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  lines.push('jetstream {', `  store_dir: ${JSON.stringify(storeDir)}`);
  if (opts.syncInterval) lines.push(`  sync_interval: ${JSON.stringify(opts.syncInterval)}`);
  lines.push('}');
  if (opts.tls) {
    lines.push('tls {', `  cert_file: ${JSON.stringify(opts.tls.certFile)}`, `  key_file: ${JSON.stringify(opts.tls.keyFile)}`);
    if (opts.tls.caFile) lines.push(`  ca_file: ${JSON.stringify(opts.tls.caFile)}`);
    if (opts.tls.verify) lines.push('  verify: true');
    lines.push('}');
  }
  if (opts.extraConfig) lines.push(opts.extraConfig);
  if (cluster) {
    lines.push(
      'cluster {',
      '  name: "stafette-test"',
      `  listen: "127.0.0.1:${cluster.clusterPort}"`,
      `  routes: [${cluster.routes.map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`)).join(', ')}]`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

// ManagedProcess.stop() leaves its grace timer running after the process exits, which keeps
// the test runner alive for the whole grace period; signal and wait here with a timer that is
// cancelled, so stop() only has bookkeeping (or a SIGKILL) left to do.
async function stopWithinGrace(proc: ManagedProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    try {
      process.kill(proc.pid, signal);
    } catch {
      /* already gone */
    }
    const ac = new AbortController();
    await Promise.race([proc.exited, sleep(graceMs, undefined, { signal: ac.signal }).catch(() => undefined)]);
    ac.abort();
  }
  await proc.stop('SIGKILL', 0);
}

async function createServer(opts: NatsServerOptions, ports: { port: number; monitorPort: number }, cluster?: ClusterPeer): Promise<NatsServer> {
  const name = opts.name ?? 'nats';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `stafette-${name}-`));
  const storeDir = join(dir, 'store');
  const configFile = join(dir, `${name}.conf`);
  writeFileSync(configFile, renderConfig(name, ports.port, ports.monitorPort, storeDir, opts, cluster));
  const binary = natsServerBinary();
  let proc: ManagedProcess | undefined;

  // healthz?js-enabled-only answers once JetStream is up; the full healthz additionally waits
  // for the meta leader and stream/consumer currency, which a cluster needs before use.
  const healthPath = cluster ? '/healthz' : '/healthz?js-enabled-only=true';

  const server: NatsServer = {
    name,
    port: ports.port,
    monitorPort: ports.monitorPort,
    url: `nats://127.0.0.1:${ports.port}`,
    storeDir,
    dir,
    get running() {
      return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      proc = startProcess(name, binary, ['-c', configFile], { logDir: dir, ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
      const started = proc;
      await waitFor(
        `${name} healthy on ${healthPath}`,
        async () => {
          if (started.child.exitCode !== null) throw new Error(`nats-server exited; see ${started.logFile}`);
          const res = await fetch(`http://127.0.0.1:${ports.monitorPort}${healthPath}`);
          return res.ok;
        },
        { timeoutMs: 60_000 },
      );
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc) {
        // A paused (SIGSTOP) server would not act on SIGTERM until resumed.
        if (server.running) server.signal('SIGCONT');
        await stopWithinGrace(proc, signal, 15_000);
      }
      proc = undefined;
    },
    signal(signal: NodeJS.Signals) {
      if (!proc) throw new Error(`${name} is not running`);
      process.kill(proc.pid, signal);
      // kill() only queues SIGSTOP: until the kernel has stopped every thread the server may
      // still answer a request, and a test that expects silence would see a reply.
      if (signal === 'SIGSTOP') waitUntilStopped(proc.pid);
    },
    async destroy() {
      await server.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function waitUntilStopped(pid: number): void {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    // /proc/<pid>/stat: "pid (comm) state ..."; T = stopped by a signal.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
  }
  throw new Error(`process ${pid} did not stop after SIGSTOP`);
}

/** Starts one nats-server -js on free loopback ports and waits until JetStream answers. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const server = await createServer(opts, { port: await freePort(), monitorPort: await freePort() });
  await server.start();
  return server;
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every client URL, for the connect option `servers`. */
  readonly urls: string[];
  destroy(): Promise<void>;
}

/** Starts a cluster of `size` nodes (3 by default) routed on loopback, and waits until all are healthy. */
export async function startNatsCluster(size = 3, opts: Omit<NatsServerOptions, 'name' | 'dir'> = {}): Promise<NatsCluster> {
  const nodes: { port: number; monitorPort: number; clusterPort: number }[] = [];
  for (let i = 0; i < size; i++) nodes.push({ port: await freePort(), monitorPort: await freePort(), clusterPort: await freePort() });
  const servers: NatsServer[] = [];
  for (const [i, node] of nodes.entries()) {
    const routes = nodes.filter((_, j) => j !== i).map((n) => n.clusterPort);
    servers.push(await createServer({ ...opts, name: `nats-${i + 1}` }, node, { clusterPort: node.clusterPort, routes }));
  }
  // Start all at once: each node's health check waits for a meta leader, which needs a quorum.
  await Promise.all(servers.map((s) => s.start()));
  return {
    servers,
    urls: servers.map((s) => s.url),
    async destroy() {
      for (const s of servers) await s.destroy();
    },
  };
}
