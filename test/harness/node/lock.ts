// One real node per machine: a lock file names the process that runs it. A second start
// while that process lives is refused; a lock whose process is gone (a crashed run) is
// stale, and the node it left is taken down before a new one starts.
//
// The file is also the one people wrap node runs in (`flock /tmp/stafette-node.lock make
// kube-node`): an empty file (what flock creates) is free, not a crashed run, and a file
// found is written and emptied in place, never removed, as flock holds its inode. Only a
// file this process created is removed at the end.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Whether this process created the lock file (then it removes it; else it only empties it). */
let created = false;

export class NodeBusyError extends Error {
  override name = 'NodeBusyError';
}

function readOwner(): { text: string; owner?: LockOwner } {
  const text = readFileSync(LOCK_FILE, 'utf8');
  try {
    return { text, owner: JSON.parse(text) as LockOwner };
  } catch {
    return { text };
  }
}

/** Takes the lock; returns true when a stale lock (a dead run) was replaced. */
export function acquireNodeLock(): boolean {
  const me: LockOwner = { pid: process.pid, cmdline: cmdlineOf(process.pid) ?? '', startedAt: new Date().toISOString() };
  try {
    writeFileSync(LOCK_FILE, JSON.stringify(me), { flag: 'wx' });
    created = true;
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const { text, owner } = readOwner();
  if (owner && owner.pid !== process.pid && cmdlineOf(owner.pid) === owner.cmdline) {
    throw new NodeBusyError(
      `a real node is already running on this machine (pid ${owner.pid}, since ${owner.startedAt}; lock ${LOCK_FILE}); only one kubelet can run per machine`,
    );
  }
  // Free (empty), or left by a dead run (stale; unreadable counts as stale): ours now.
  // Written in place, not created: two starts in the same instant could both take it here,
  // which the flock around node runs rules out.
  writeFileSync(LOCK_FILE, JSON.stringify(me));
  return text.trim() !== '';
}

/** Gives the lock up when it is ours. */
export function releaseNodeLock(): void {
  try {
    if (readOwner().owner?.pid !== process.pid) return;
    if (created) rmSync(LOCK_FILE, { force: true });
    else writeFileSync(LOCK_FILE, '');
    created = false;
  } catch {
    /* gone */
  }
}
