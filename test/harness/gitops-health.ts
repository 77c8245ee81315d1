// How GitOps tools judge objects, by their own code: test/gitops-health (kstatus, which Flux
// and kpt use; an Argo CD health script in gopher-lua, the VM Argo CD embeds), built from the
// Go module proxy by tools/go-build/gitops-health.sh. Objects go in as JSON, as `kubectl get
// -o json` prints them; one verdict per object comes back.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './kube-assets.ts';

const run = promisify(execFile);

export interface HealthVerdict {
  kind: string;
  namespace: string;
  name: string;
  /** kstatus: Current, InProgress, Failed, Terminating; Argo CD: Healthy, Progressing, Degraded, ... */
  status: string;
  message: string;
}

let binary: Promise<string> | undefined;

/** The checker's path (the script builds it first when it is not cached). */
function checker(): Promise<string> {
  binary ??= run('bash', [join(REPO_ROOT, 'tools/go-build/gitops-health.sh'), '--print-bin'], { cwd: REPO_ROOT }).then(({ stdout }) => stdout.trim());
  return binary;
}

async function judge(args: string[], objects: unknown): Promise<HealthVerdict[]> {
  const child = run(await checker(), args, { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(objects));
  const { stdout } = await child;
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as HealthVerdict);
}

/** kstatus's status.Compute for each object (one object or a List). */
export function kstatusOf(objects: unknown): Promise<HealthVerdict[]> {
  return judge(['kstatus'], objects);
}

/** An Argo CD health script's verdict for each object, run as Argo CD runs resource customizations. */
export async function argoHealthOf(script: string, objects: unknown): Promise<HealthVerdict[]> {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-argocd-'));
  try {
    const file = join(dir, 'health.lua');
    writeFileSync(file, script);
    return await judge(['argocd-lua', file], objects);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
