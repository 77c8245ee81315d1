// smtp-sink as the end-to-end benchmark's destination: -c for its running message counter,
// -L when the MTA delivers by LMTP, -d to dump every message into its own file (on tmpfs) so
// the latency client can see when each of its marked messages arrived (the file's mtime is
// its last write, the end of the message).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../test/harness/process.ts';
import { waitForPort } from './postfix-instance.ts';

export interface Sink {
  readonly host: string;
  readonly port: number;
  readonly dumpDir: string;
  /** Messages received so far (the -c counter). */
  delivered(): number;
  /** Removes the dumped messages (between runs). */
  clearDumps(): void;
  /** Arrival time (epoch ms, the dump file's mtime) of each dumped message carrying an X-Bench-Id header. */
  arrivals(): Map<string, number>;
  stop(): Promise<void>;
}

/** The smtp-sink arguments that dump each message into `dumpDir` (writable by nobody). */
export function dumpArgs(dumpDir: string): string[] {
  mkdirSync(dumpDir, { recursive: true });
  chmodSync(dumpDir, 0o777);
  return ['-d', `${dumpDir}/m/`];
}

export function counterOf(proc: ManagedProcess): () => number {
  let tail = '';
  let count = 0;
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('latin1')).slice(-256);
    const all = [...tail.matchAll(/mesg=(\d+)/g)];
    if (all.length) count = Number(all.at(-1)![1]);
  });
  return () => count;
}

export function readArrivals(dumpDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const dir = join(dumpDir, 'm');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const file = join(dir, name);
    const head = readFileSync(file, 'latin1').slice(0, 4096);
    const m = /^X-Bench-Id: (\S+)/m.exec(head);
    if (m) out.set(m[1]!, statSync(file).mtimeMs);
  }
  return out;
}

export async function startSink(opts: { name: string; host: string; port: number; lmtp: boolean; dumpDir: string; logDir: string }): Promise<Sink> {
  const args = ['-c', ...(opts.lmtp ? ['-L'] : []), '-u', 'nobody', ...dumpArgs(opts.dumpDir), `${opts.host}:${opts.port}`, '1000'];
  const proc = startProcess(opts.name, 'smtp-sink', args, { logDir: opts.logDir });
  const delivered = counterOf(proc);
  await waitForPort(opts.port, 10_000, opts.host);
  return {
    host: opts.host,
    port: opts.port,
    dumpDir: opts.dumpDir,
    delivered,
    clearDumps: () => rmSync(join(opts.dumpDir, 'm'), { recursive: true, force: true }),
    arrivals: () => readArrivals(opts.dumpDir),
    stop: () => proc.stop(),
  };
}
