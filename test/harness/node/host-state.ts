// What the real node may change on this machine, read as a snapshot before it starts and
// compared after it stops: sysctls, network links and routes, the whole nf_tables ruleset
// (iptables-nft included), legacy iptables, nfacct counters, ipsets, mounts, cgroups, processes
// and the fixed paths the kubelet and containerd use. `hostChanges` says, line by line,
// what differs; the node's teardown must leave it empty.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXED_HOST_PATHS, NODE_DIR } from './layout.ts';

/** Sysctls the kubelet, kube-proxy, containerd or the CNI plugins are known to set. */
export const WATCHED_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/default/forwarding',
  'net/ipv4/conf/all/route_localnet',
  'net/ipv4/conf/default/route_localnet',
  'net/ipv6/conf/all/forwarding',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv4/conf/all/arp_ignore',
  'net/ipv4/conf/all/arp_announce',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/bridge/bridge-nf-call-arptables',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
  'net/netfilter/nf_conntrack_tcp_be_liberal',
  'net/netfilter/nf_conntrack_udp_timeout',
  'net/netfilter/nf_conntrack_udp_timeout_stream',
] as const;

export interface HostSnapshot {
  readonly sysctls: Record<string, string | null>;
  readonly links: string[];
  readonly routes: string[];
  readonly nft: string;
  readonly iptablesLegacy: string;
  readonly nfacct: string[];
  /** Names of the ipsets (kube-router's live here); absent in state files of older runs. */
  readonly ipsets?: string[];
  readonly paths: Record<string, boolean>;
  readonly mounts: string[];
  readonly cgroups: string[];
  readonly processes: string[];
}

export function readSysctl(name: string): string | null {
  try {
    return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return null;
  }
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
  } catch {
    return '';
  }
}

export function nfacctNames(): string[] {
  // `nfacct list` prints `{ pkts = …, bytes = … } = name;`
  return run('nfacct', ['list'])
    .split('\n')
    .map((l) => /=\s*([^=;\s]+);\s*$/.exec(l)?.[1])
    .filter((n): n is string => !!n)
    .sort();
}

/** The names of every ipset (none when the ipset tool is not installed). */
export function ipsetNames(): string[] {
  return run('ipset', ['list', '-name'])
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

/** Mount points at or under NODE_DIR and the fixed host paths, deepest first. */
export function nodeMounts(): string[] {
  const roots = [NODE_DIR, ...FIXED_HOST_PATHS];
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => roots.some((r) => p === r || p.startsWith(`${r}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length || (a < b ? 1 : -1));
}

/** Every cgroup directory of the node (name starting with stafette-node), deepest first. */
export function nodeCgroups(): string[] {
  const out: string[] = [];
  const walk = (dir: string, inside: boolean) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e);
      let isDir = false;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        /* gone */
      }
      if (!isDir) continue;
      const ours = inside || e.startsWith('stafette-node');
      // Outside our cgroups only the top level of each hierarchy is searched.
      if (ours) {
        walk(path, true);
        out.push(path);
      }
    }
  };
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) walk(join('/sys/fs/cgroup', hierarchy), false);
  return out.sort((a, b) => b.length - a.length || (a < b ? 1 : -1));
}

/**
 * Processes whose command line names a path inside NODE_DIR (the node's daemons and
 * containerd shims). Inside only: `flock /tmp/stafette-node.lock make kube-node`, which
 * names the lock file beside NODE_DIR, is the caller's wrapper, never the node's.
 */
export function nodeProcesses(): { pid: number; cmdline: string }[] {
  const inside = `${NODE_DIR}/`;
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmdline.includes(inside)) out.push({ pid: Number(entry), cmdline });
    } catch {
      /* exited */
    }
  }
  return out;
}

export function snapshotHost(): HostSnapshot {
  return {
    sysctls: Object.fromEntries(WATCHED_SYSCTLS.map((s) => [s, readSysctl(s)])),
    links: run('ip', ['-o', 'link', 'show'])
      .split('\n')
      .map((l) => l.split(':')[1]?.trim().split('@')[0])
      .filter((n): n is string => !!n)
      .sort(),
    routes: [...run('ip', ['-4', 'route', 'show', 'table', 'all']).split('\n'), ...run('ip', ['-6', 'route', 'show', 'table', 'all']).split('\n')]
      .filter((l) => l && !/\bproto kernel\b.*\bdev (veth|stfbr)/.test(l))
      .sort(),
    nft: run('nft', ['-s', 'list', 'ruleset']),
    iptablesLegacy: [run('iptables-legacy-save', []), run('ip6tables-legacy-save', [])]
      .join('\n')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
      .join('\n'),
    nfacct: nfacctNames(),
    ipsets: ipsetNames(),
    paths: Object.fromEntries(FIXED_HOST_PATHS.map((p) => [p, existsSync(p)])),
    mounts: nodeMounts(),
    cgroups: nodeCgroups(),
    processes: nodeProcesses().map((p) => `${p.pid} ${p.cmdline}`),
  };
}

/** What differs between two snapshots, one line per difference; empty when the machine is as it was. */
export function hostChanges(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (after.sysctls[name] !== value) out.push(`sysctl ${name.replaceAll('/', '.')}: ${value} -> ${after.sysctls[name]}`);
  }
  const setDiff = (what: string, a: readonly string[], b: readonly string[]) => {
    for (const x of b) if (!a.includes(x)) out.push(`${what} added: ${x}`);
    for (const x of a) if (!b.includes(x)) out.push(`${what} removed: ${x}`);
  };
  setDiff('link', before.links, after.links);
  setDiff('route', before.routes, after.routes);
  setDiff('nfacct counter', before.nfacct, after.nfacct);
  setDiff('ipset', before.ipsets ?? [], after.ipsets ?? []);
  setDiff('mount', before.mounts, after.mounts);
  setDiff('cgroup', before.cgroups, after.cgroups);
  setDiff('process', before.processes, after.processes);
  const lines = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  setDiff('nft', lines(before.nft), lines(after.nft));
  setDiff('iptables-legacy', lines(before.iptablesLegacy), lines(after.iptablesLegacy));
  for (const [path, existed] of Object.entries(before.paths)) {
    if (after.paths[path] !== existed) out.push(`path ${path}: ${existed ? 'existed, now gone' : 'created'}`);
  }
  return out;
}
