// Installs CRD manifests the way a user would (server-side apply) and waits until the
// API server serves them: Established alone is not enough, because a request made
// before the new group reaches discovery fails with "no matches for kind".
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlOk, type KubectlTarget } from './kubectl.ts';
import { waitFor } from './process.ts';

export const FIELD_MANAGER = 'stafette-harness';

/** Applies every *.yaml in `dir` (not sub-folders); returns the CRD names, e.g. maildomains.stafette.dev. */
export async function installCrds(target: KubectlTarget, dir: string, timeoutMs = 60_000): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
  if (files.length === 0) return [];
  const applied = await kubectlOk(target, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-o', 'name', ...files.flatMap((f) => ['-f', f])]);
  const crds = applied.split('\n').filter((l) => l.startsWith('customresourcedefinition.'));
  if (crds.length === 0) return [];
  await kubectlOk(target, ['wait', '--for=condition=Established', `--timeout=${Math.ceil(timeoutMs / 1000)}s`, ...crds]);
  const names = crds.map((l) => l.slice(l.indexOf('/') + 1));
  await waitFor(
    'the CRDs to appear in API discovery',
    async () => {
      const served = new Set((await kubectlOk(target, ['api-resources', '-o', 'name'])).split('\n'));
      return names.every((n) => served.has(n));
    },
    { timeoutMs, intervalMs: 250 },
  );
  return names;
}
