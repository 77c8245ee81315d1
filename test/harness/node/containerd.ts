// The node's container runtime: Debian's containerd 1.6 with runc and the CNI plugins,
// run with its own root, state, socket and configuration under NODE_DIR. Images are
// imported from archives built on this machine, never pulled: the pause image is the
// sandbox image, and pulls from the usual registries are sent to a closed loopback port.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startProcess, waitFor, type ManagedProcess } from '../process.ts';
import { joinDaemonCgroup } from './cgroups.ts';
import { BRIDGE, dirs, NODE_IP, POD_CIDR, POD_RANGE } from './layout.ts';

const exec = promisify(execFile);

export const CONTAINERD_SOCKET = join(dirs.containerd, 'containerd.sock');
export const CNI_BIN_DIR = '/usr/lib/cni';
/** containerd's CRI namespace: the kubelet's containers and images live here. */
const NAMESPACE = 'k8s.io';

/** containerd's config (version 2 for 1.6). The non-obvious settings are explained inline. */
export function containerdConfig(sandboxImage: string): string {
  const c = dirs.containerd;
  return `version = 2
root = "${c}/root"
state = "${c}/state"
# Plugins that would touch /opt or need kernel features this machine lacks.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${CONTAINERD_SOCKET}"

[ttrpc]
  address = "${c}/containerd.ttrpc.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # Root here lacks CAP_SYS_RESOURCE and cannot lower oom_score_adj below its own; without
  # this every sandbox fails in runc ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir, not /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "${c}/runc"
        # cgroupfs, as the kubelet (no systemd on this machine).
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${dirs.cni}/net.d"
    max_conf_num = 1
  # Nothing is pulled: every image is imported beforehand. A pull from these registries
  # would go to the discard port on loopback and fail at once.
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."ghcr.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."quay.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."stafette.local"]
    endpoint = ["http://127.0.0.1:9"]
`;
}

/** The pods' network: the CNI bridge plugin on the node's bridge, addresses from host-local. */
export function cniConfig(): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'stafette-node',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          // The bridge exists with the node's address already; as a gateway the plugin would
          // also turn on the machine-wide ip_forward. Pods get their default route from IPAM.
          isGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: POD_CIDR, rangeStart: POD_RANGE.start, rangeEnd: POD_RANGE.end, gateway: NODE_IP }]],
            routes: [{ dst: '0.0.0.0/0', gw: NODE_IP }],
            dataDir: join(dirs.cni, 'ipam'),
          },
        },
      ],
    },
    null,
    2,
  );
}

export async function startContainerd(sandboxImage: string, timeoutMs = 30_000): Promise<ManagedProcess> {
  mkdirSync(join(dirs.cni, 'net.d'), { recursive: true });
  mkdirSync(dirs.containerd, { recursive: true });
  writeFileSync(join(dirs.cni, 'net.d', '10-stafette-node.conflist'), cniConfig());
  const config = join(dirs.config, 'containerd.toml');
  writeFileSync(config, containerdConfig(sandboxImage));
  const proc = inDaemonCgroup('containerd', '/usr/bin/containerd', ['--config', config, '--log-level', 'warn']);
  await waitFor(
    'containerd to answer',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`containerd exited (${proc.child.exitCode}); see ${proc.logFile}`);
      return await ctr(['version']).then(
        () => true,
        () => false,
      );
    },
    { timeoutMs, intervalMs: 100 },
  );
  return proc;
}

/**
 * Starts a node daemon in its own session (Ctrl-C on a terminal reaches the harness only,
 * which then stops everything in order) and in the daemons' cgroup, from which nothing
 * it starts can escape.
 */
export function inDaemonCgroup(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): ManagedProcess {
  const proc = startProcess(name, command, args, { logDir: dirs.logs, detached: true, env: env ?? process.env });
  joinDaemonCgroup(proc.pid);
  return proc;
}

/** containerd's own client against this containerd, in the CRI namespace. */
export async function ctr(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await exec('ctr', ['--address', CONTAINERD_SOCKET, '--namespace', NAMESPACE, ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Imports image archives (OCI layout or `docker save`) and unpacks them for the CRI. */
export async function importImages(archives: readonly string[]): Promise<void> {
  for (const archive of archives) await ctr(['images', 'import', archive], 300_000);
}

/** IDs of the running tasks (containers and sandboxes) in the CRI namespace. */
export async function runningTasks(): Promise<string[]> {
  const out = await ctr(['tasks', 'list', '--quiet']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
