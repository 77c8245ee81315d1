// A single-member etcd for one throwaway API server: loopback only, plain HTTP (nothing
// else can reach it), and --unsafe-no-fsync because the data is discarded anyway and
// fsync dominates startup and write latency on a small VM (envtest does the same).
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.ts';
import { startOnFreePorts } from './kube-startup.ts';

export interface Etcd {
  readonly proc: ManagedProcess;
  /** The client URL for kube-apiserver's --etcd-servers. */
  readonly url: string;
}

export async function startEtcd(binary: string, workDir: string, timeoutMs = 30_000): Promise<Etcd> {
  const { proc, ports } = await startOnFreePorts(
    2,
    ([client, peer]) => {
      const clientUrl = `http://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      const proc = startProcess(
        'etcd',
        binary,
        [
          // A data dir per attempt: a retry must not inherit the first attempt's peer URL.
          `--data-dir=${join(workDir, `etcd-${client}`)}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          '--name=stafette',
          `--initial-cluster=stafette=${peerUrl}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        { logDir: join(workDir, 'logs'), cwd: workDir },
      );
      const ready = async () => {
        const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { health?: string };
        return res.ok && body.health === 'true';
      };
      return { proc, ready, what: `etcd to be healthy on ${clientUrl}` };
    },
    timeoutMs,
  );
  return { proc, url: `http://127.0.0.1:${ports[0]}` };
}
