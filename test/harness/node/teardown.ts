// Taking the real node down and leaving the machine as it was, whether the node is being
// stopped by the harness that started it or found half-dead after a crash: the steps read
// only the fixed layout, the cgroups and the state file, never in-memory handles.
//
//   1. the daemons (cgroup DAEMON_CGROUP) and every container process (POD_CGROUP)
//   2. containerd's tasks deleted, so the shims exit and remove their sockets
//   3. every mount under NODE_DIR and the kubelet's fixed paths, deepest first
//   4. any process still naming NODE_DIR (the API server and etcd, leftover shims)
//   5. netfilter, the bridge and its route (host-network.ts)
//   6. sysctls back to the values recorded before the start
//   7. cgroups, fixed host paths created by the node, NODE_DIR itself
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeCgroupPids, removeNodeCgroups } from './cgroups.ts';
import { CONTAINERD_SOCKET, ctr, runningTasks } from './containerd.ts';
import { nodeMounts, nodeProcesses, type HostSnapshot } from './host-state.ts';
import { tearDownNetwork } from './host-network.ts';
import { dirs, FIXED_HOST_PATHS, NODE_DIR, STATE_FILE } from './layout.ts';

export interface NodeState {
  readonly version: 1;
  readonly ownerPid: number;
  readonly ownerCmdline: string;
  readonly startedAt: string;
  /** The machine before the node changed anything. */
  readonly before: HostSnapshot;
}

export function writeState(state: NodeState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state));
}

export function readState(): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** SIGTERM, up to graceMs, then SIGKILL for whatever is left. */
async function stopPids(pids: readonly number[], graceMs: number): Promise<void> {
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  signal(pids.filter(alive), 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (pids.some(alive) && Date.now() < killDeadline) await sleep(50);
}

function daemonPids(names: readonly string[]): number[] {
  return nodeProcesses()
    .filter((p) => names.some((n) => p.cmdline.split(' ')[0]?.endsWith(`/${n}`)))
    .map((p) => p.pid);
}

/** The IDs of every task (container or sandbox) containerd had, by namespace, from its state and root. */
function containerIds(): { ns: string; id: string }[] {
  const out: { ns: string; id: string }[] = [];
  const tasks = join(dirs.containerd, 'state', 'io.containerd.runtime.v2.task');
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const ns of list(tasks)) for (const id of list(join(tasks, ns))) out.push({ ns, id });
  for (const id of list(join(dirs.containerd, 'root', 'io.containerd.grpc.v1.cri', 'sandboxes'))) out.push({ ns: 'k8s.io', id });
  return out;
}

/** Sockets of containerd 1.6 shims live in /run/containerd/s/, named by a hash of address, namespace and id. */
function shimSockets(ids: readonly { ns: string; id: string }[]): string[] {
  return ids.map(({ ns, id }) =>
    join(
      '/run/containerd/s',
      createHash('sha256')
        .update(join(CONTAINERD_SOCKET, ns, id))
        .digest('hex'),
    ),
  );
}

function unmount(point: string): boolean {
  for (const args of [[point], ['-l', point]]) {
    try {
      execFileSync('umount', args, { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      /* try lazily */
    }
  }
  return false;
}

function restoreSysctls(before: HostSnapshot | undefined, problems: string[]): void {
  if (!before) {
    problems.push('no state file: sysctls could not be restored to their earlier values');
    return;
  }
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (value === null) continue;
    const path = `/proc/sys/${name}`;
    try {
      if (readFileSync(path, 'utf8').trim() !== value) writeFileSync(path, value);
    } catch (err) {
      problems.push(`could not restore sysctl ${name}: ${(err as Error).message}`);
    }
  }
}

/** Paths outside NODE_DIR the node created: the kubelet's are removed whole; shared ones only when empty. */
function removeFixedPaths(before: HostSnapshot | undefined, ids: readonly { ns: string; id: string }[], problems: string[]): void {
  // Log links the kubelet made for our pods, and CNI results of our network.
  try {
    for (const f of readdirSync('/var/log/containers')) {
      const link = join('/var/log/containers', f);
      try {
        if (readlinkSync(link).startsWith(`${NODE_DIR}/`)) rmSync(link);
      } catch {
        /* not a link */
      }
    }
  } catch {
    /* absent */
  }
  // libcni caches each attachment as <network>-<sandbox id>-<interface> (ours and the loopback's).
  const sandboxes = new Set(ids.map((i) => i.id));
  try {
    for (const f of readdirSync('/var/lib/cni/results')) {
      const id = /^(?:stafette-node|cni-loopback)-([0-9a-f]{64})-/.exec(f)?.[1];
      if (id && sandboxes.has(id)) rmSync(join('/var/lib/cni/results', f), { force: true });
    }
  } catch {
    /* absent */
  }
  for (const socket of shimSockets(ids)) rmSync(socket, { force: true });
  const shared = new Set([
    '/run/containerd',
    '/run/containerd/s',
    '/var/lib/cni',
    '/var/lib/cni/results',
    '/run/mount',
    '/var/log/containers',
    '/var/log/pods',
  ]);
  for (const path of [...FIXED_HOST_PATHS].sort((a, b) => b.length - a.length)) {
    if (before?.paths[path] !== false || !existsSync(path)) continue;
    try {
      if (shared.has(path)) rmdirSync(path);
      else rmSync(path, { recursive: true, force: true });
    } catch (err) {
      problems.push(`left ${path} (created by the node, not empty: ${(err as Error).message})`);
    }
  }
}

/**
 * Takes everything of the node down. `apiStop` stops the API server and etcd when the
 * caller still has them; otherwise they are found by command line. Returns problems met
 * (not what differs from before: see host-state.ts hostChanges).
 */
export async function tearDownNode(apiStop?: () => Promise<void>): Promise<string[]> {
  const problems: string[] = [];
  const state = readState();
  // Read now: the names of files the node left outside NODE_DIR derive from them.
  const ids = containerIds();
  // 1. Controllers first (no new pods), then the kubelet, kube-proxy and kube-router (no
  // rule rewritten after step 5 removes them), then every container.
  await stopPids(daemonPids(['kube-controller-manager', 'kube-scheduler']), 5_000);
  await stopPids(daemonPids(['kubelet', 'kube-proxy', 'kube-router']), 5_000);
  const daemons = new Set(nodeProcesses().map((p) => p.pid));
  signal(
    nodeCgroupPids().filter((pid) => !daemons.has(pid)),
    'SIGKILL',
  );
  // 2. Tasks deleted through containerd while it runs, so each shim exits cleanly.
  if (daemonPids(['containerd']).length > 0) {
    for (const id of await runningTasks()) {
      await ctr(['tasks', 'kill', '--all', '--signal', 'SIGKILL', id], 10_000).catch(() => undefined);
    }
    await sleep(200);
    const tasks = (await ctr(['tasks', 'list', '--quiet'], 10_000).catch(() => '')).split('\n').filter(Boolean);
    for (const id of tasks) await ctr(['tasks', 'delete', '--force', id], 10_000).catch(() => undefined);
  }
  await stopPids(daemonPids(['containerd']), 5_000);
  // Whatever is still in our cgroups (a shim that did not exit, a stray container process).
  await stopPids(nodeCgroupPids(), 2_000);
  // 3. Mounts: overlay root filesystems, pod network namespaces, volumes (tmpfs).
  for (const point of nodeMounts()) if (!unmount(point)) problems.push(`could not unmount ${point}`);
  // 4. The API server and etcd, and anything else that names our directory.
  if (apiStop) await apiStop().catch((err: unknown) => problems.push(`stopping the API server: ${(err as Error).message}`));
  await stopPids(
    nodeProcesses().map((p) => p.pid),
    10_000,
  );
  // 5-7.
  problems.push(...tearDownNetwork(state?.before));
  restoreSysctls(state?.before, problems);
  const left = removeNodeCgroups();
  if (left.length > 0) {
    await sleep(500);
    for (const dir of removeNodeCgroups()) problems.push(`could not remove cgroup ${dir}`);
  }
  removeFixedPaths(state?.before, ids, problems);
  for (const point of nodeMounts()) if (!unmount(point)) problems.push(`could not unmount ${point}`);
  if (!process.env.STAFETTE_KEEP_NODE_DIR) rmSync(NODE_DIR, { recursive: true, force: true, maxRetries: 3 });
  return problems;
}
