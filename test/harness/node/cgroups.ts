// The node's cgroups (v1: one directory per controller). The kubelet puts every pod under
// POD_CGROUP (its cgroupRoot, which must exist in every hierarchy first, with cpuset's
// cpus and mems copied from the parent); the harness puts the node's daemons, and so the
// containerd shims they start, under DAEMON_CGROUP. Every process of the node is then in
// one of the two, which is how teardown finds and stops them all, even after a crash.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_CGROUP, POD_CGROUP } from './layout.ts';
import { nodeCgroups } from './host-state.ts';

const ROOT = '/sys/fs/cgroup';

/** The cgroup v1 hierarchies to create our groups in (every mounted one, named ones too). */
function hierarchies(): string[] {
  return readdirSync(ROOT)
    .map((h) => join(ROOT, h))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && existsSync(join(p, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

export function createNodeCgroups(): void {
  for (const h of hierarchies()) {
    for (const name of [POD_CGROUP, DAEMON_CGROUP]) {
      const dir = join(h, name);
      mkdirSync(dir, { recursive: true });
      if (h.endsWith('/cpuset')) {
        // A new cpuset has no CPUs or memory nodes; no process could join it.
        // (read and written: copying a cgroup file copies nothing).
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(h, f)));
      }
    }
  }
}

/** Moves a process (and so everything it starts later) into the daemons' cgroup. */
export function joinDaemonCgroup(pid: number): void {
  for (const h of hierarchies()) {
    const procs = join(h, DAEMON_CGROUP, 'cgroup.procs');
    if (existsSync(procs)) appendFileSync(procs, `${pid}\n`);
  }
}

/** Every process in any of the node's cgroups. */
export function nodeCgroupPids(): number[] {
  const pids = new Set<number>();
  for (const dir of nodeCgroups()) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** Resident memory of the node's pods (the kubelet's QoS tree), from the memory controller. */
export function podMemoryBytes(): number {
  try {
    return Number(readFileSync(join(ROOT, 'memory', POD_CGROUP, 'memory.usage_in_bytes'), 'utf8'));
  } catch {
    return 0;
  }
}

/** Removes the node's cgroups, deepest first; returns those that would not go. */
export function removeNodeCgroups(): string[] {
  const left: string[] = [];
  for (const dir of nodeCgroups()) {
    try {
      rmdirSync(dir);
    } catch {
      left.push(dir);
    }
  }
  return left;
}
