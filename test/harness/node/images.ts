// The images the real node runs, as archives built on this machine: pause, CoreDNS and
// nats-server (tools/node/build-images.sh) and Stafette's own (tools/image/build.sh, the
// Containerfile). Each script prints "<ref> <archive>" or the archive, building first when
// its cache has nothing for the current inputs, so a test never runs a stale image.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../kube-assets.ts';

export interface NodeImages {
  readonly pause: string;
  readonly coredns: string;
  readonly natsServer: string;
  /** The chart's default image reference (ghcr.io/stafette/stafette:<appVersion>), also tagged stafette:dev. */
  readonly stafette: string;
  readonly archives: readonly string[];
}

function script(path: string, timeoutMs: number): string {
  return execFileSync('bash', [join(REPO_ROOT, path), '--print'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: timeoutMs,
  });
}

export function nodeImages(): NodeImages {
  const lines = script('tools/node/build-images.sh', 20 * 60_000)
    .trim()
    .split('\n')
    .map((l) => l.split(' ') as [string, string]);
  const ref = (name: string) => {
    const found = lines.find(([r]) => r.includes(`/${name}:`));
    if (!found) throw new Error(`tools/node/build-images.sh printed no ${name} image`);
    return found;
  };
  const stafetteArchive = script('tools/image/build.sh', 20 * 60_000)
    .trim()
    .split('\n')
    .pop()!;
  const chartYaml = execFileSync('awk', ['$1 == "appVersion:" { gsub(/"/, "", $2); print $2 }', join(REPO_ROOT, 'charts/stafette/Chart.yaml')], {
    encoding: 'utf8',
  }).trim();
  return {
    pause: ref('pause')[0],
    coredns: ref('coredns')[0],
    natsServer: ref('nats-server')[0],
    stafette: `ghcr.io/stafette/stafette:${chartYaml}`,
    archives: [...lines.map(([, archive]) => archive), stafetteArchive],
  };
}
