// What every benchmark script shares: its flag parsing, its units, and how it ends (exit
// status from main; on a throw, the processes the harness started are stopped first).
import { stopAll } from '../test/harness/process.ts';

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

export function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, not ${value}`);
  return n;
}

/** Runs `main` and sets the exit status; `name` prefixes the failure message. */
export function runBench(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    async (err: unknown) => {
      console.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      await stopAll();
      process.exitCode = 1;
    },
  );
}
