// CPU time and memory of a group of processes, read from /proc, for the end-to-end benchmark.
//
// CPU: for a process tree, utime+stime of every live process plus cutime+cstime (the CPU of
// children already reaped, with their own reaped subtrees). The difference of two readings is
// the CPU the tree used in between, also for children born or gone in between (Postfix's
// master forks smtpd, cleanup, smtp… and reaps them; their time moves into its cutime).
// Memory: the sum of VmRSS over the tree, sampled; and VmHWM (the kernel's peak RSS) per process.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const pageSize = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

interface Stat {
  readonly ppid: number;
  readonly self: number;
  readonly children: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid = 4, utime = 14, stime = 15, cutime = 16, cstime = 17.
    return {
      ppid: Number(fields[1]),
      self: Number(fields[11]) + Number(fields[12]),
      children: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return null;
  }
}

/** Live children of `pid` (from /proc/<pid>/task/<tid>/children, else by scanning /proc). */
function childrenOf(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const kids: number[] = [];
    for (const tid of tasks) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) kids.push(...text.split(/\s+/).map(Number));
    }
    return kids;
  } catch {
    const kids: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      if (readStat(Number(name))?.ppid === pid) kids.push(Number(name));
    }
    return kids;
  }
}

/** `pid` and its live descendants. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...childrenOf(p));
  }
  return out;
}

/** CPU seconds used so far by the trees rooted at `roots` (live processes and reaped children). */
export function cpuSeconds(roots: readonly number[]): number {
  let ticks = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      const s = readStat(pid);
      if (s) ticks += s.self + s.children;
    }
  }
  return ticks / ticksPerSecond;
}

/** Sum of resident memory in bytes over the trees rooted at `roots`. */
export function rssBytes(roots: readonly number[]): number {
  let pages = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      try {
        pages += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      } catch {
        /* gone */
      }
    }
  }
  return pages * pageSize;
}

/** Sum of proportional set size (shared pages split among their users) in bytes over the trees. */
export function pssBytes(roots: readonly number[]): number {
  let kb = 0;
  for (const root of roots) {
    for (const pid of processTree(root)) {
      try {
        const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        if (m) kb += Number(m[1]);
      } catch {
        /* gone */
      }
    }
  }
  return kb * 1024;
}

/** Sum of VmHWM (peak resident memory since start) in bytes over the given processes. */
export function peakRssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb * 1024;
}

/** Samples the sums of RSS and of PSS over the trees every `intervalMs` until stopped; returns the largest of each. */
export function sampleMemory(roots: readonly number[], intervalMs = 200): { stop(): { rss: number; pss: number } } {
  let rss = 0;
  let pss = 0;
  const sample = () => {
    rss = Math.max(rss, rssBytes(roots));
    pss = Math.max(pss, pssBytes(roots));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rss, pss };
    },
  };
}

/** The PID of the process whose command line contains `needle` (e.g. a config file path). */
export function findPid(needle: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ');
      if (cmdline.includes(needle) && Number(name) !== process.pid) return Number(name);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no process with ${needle} in its command line`);
}
