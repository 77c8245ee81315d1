// Starting a server process and waiting for it to serve, shared by etcd and
// kube-apiserver: fail fast (with the end of its log) when the process dies instead of
// waiting out the timeout, and retry on a fresh port when another process took the
// port freePort() chose between choosing and binding.
import { readFileSync } from 'node:fs';
import { freePort, waitFor, type ManagedProcess } from './process.ts';

export function logTail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

class ProcessExited extends Error {}

/** Resolves once `ready()` is true; rejects early when the process exits first. */
export async function waitReady(proc: ManagedProcess, what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const died = proc.exited.then((code) => {
    throw new ProcessExited(`${proc.name} exited (${code}) before ${what}:\n${logTail(proc.logFile)}`);
  });
  try {
    await Promise.race([waitFor(what, async () => await ready(), { timeoutMs, intervalMs: 200 }), died]);
  } catch (err) {
    if (err instanceof ProcessExited) throw err;
    throw new Error(`${(err as Error).message}\n--- ${proc.logFile} ---\n${logTail(proc.logFile)}`, { cause: err });
  } finally {
    died.catch(() => {
      /* the race is over; a later exit is not an error here */
    });
  }
}

/**
 * Starts a server on free loopback ports (`portCount` of them) and waits until it is
 * ready, up to three times when it dies because its port was taken meanwhile.
 */
export async function startOnFreePorts(
  portCount: number,
  start: (ports: number[]) => { proc: ManagedProcess; ready: () => Promise<boolean>; what: string },
  timeoutMs: number,
): Promise<{ proc: ManagedProcess; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < portCount) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const { proc, ready, what } = start(ports);
    try {
      await waitReady(proc, what, ready, timeoutMs);
      return { proc, ports };
    } catch (err) {
      await proc.stop('SIGKILL');
      const clash = err instanceof ProcessExited && /address already in use/.test(err.message);
      if (!clash || attempt === 3) throw err;
    }
  }
}
