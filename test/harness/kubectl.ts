// Runs the pinned kubectl against a harness API server.
// kubectl is a one-shot command awaited inside the call, with a timeout that kills it
// by PID, so it never outlives the call; the long-lived processes (etcd,
// kube-apiserver) go through process.ts instead.
import { spawn } from 'node:child_process';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  readonly input?: string;
  /** Impersonate this user (`--as`), e.g. system:serviceaccount:ns:name. */
  readonly as?: string;
  readonly timeoutMs?: number;
}

export interface KubectlTarget {
  readonly kubectl: string;
  readonly kubeconfig: string;
  /** Discovery cache, kept in the server's work dir rather than ~/.kube. */
  readonly cacheDir: string;
}

/** Runs kubectl and resolves with its exit code and output; never rejects on a non-zero exit. */
export async function runKubectl(target: KubectlTarget, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const full = ['--kubeconfig', target.kubeconfig, '--cache-dir', target.cacheDir, ...args];
  if (options.as) full.push('--as', options.as);
  const child = spawn(target.kubectl, full, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(() => {
    if (child.pid !== undefined)
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  }, timeoutMs);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr };
}

/** Like runKubectl, but throws (with kubectl's stderr) unless kubectl exits 0. */
export async function kubectlOk(target: KubectlTarget, args: readonly string[], options: KubectlOptions = {}): Promise<string> {
  const result = await runKubectl(target, args, options);
  if (result.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
