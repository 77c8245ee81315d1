// One real node per machine: a lock file names the process that runs it. A second start
// while that process lives is refused; a lock whose process is gone (a crashed run) is
// stale, and the node it left is taken down before a new one starts.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { LOCK_FILE } from './layout.ts';

interface LockOwner {
  pid: number;
  cmdline: string;
  startedAt: string;
}

function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
}

export class NodeBusyError extends Error {
  override name = 'NodeBusyError';
}

/** Takes the lock; returns true when a stale lock (a dead run) was replaced. */
export function acquireNodeLock(): boolean {
  const me: LockOwner = { pid: process.pid, cmdline: cmdlineOf(process.pid) ?? '', startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(LOCK_FILE, JSON.stringify(me), { flag: 'wx' });
      return attempt > 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockOwner;
    } catch {
      /* half-written: treat as stale */
    }
    if (owner && owner.pid !== process.pid && cmdlineOf(owner.pid) === owner.cmdline) {
      throw new NodeBusyError(
        `a real node is already running on this machine (pid ${owner.pid}, since ${owner.startedAt}; lock ${LOCK_FILE}); only one kubelet can run per machine`,
      );
    }
    rmSync(LOCK_FILE, { force: true });
  }
  throw new NodeBusyError(`could not take ${LOCK_FILE}`);
}

export function releaseNodeLock(): void {
  try {
    const owner = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockOwner;
    if (owner.pid === process.pid) rmSync(LOCK_FILE, { force: true });
  } catch {
    /* not ours or gone */
  }
}

export function nodeLockHeld(): boolean {
  return existsSync(LOCK_FILE);
}
