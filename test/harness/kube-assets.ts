// Where the harness finds kube-apiserver, etcd, kubectl and helm: the cache folders
// tools/go-build/{kube,helm}.sh build into. The Kubernetes version is read from
// test/kube-binaries/go.mod, so the harness and the build script cannot disagree.
// Tests use only these pinned binaries, never a kubectl that happens to be on PATH.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface KubeAssets {
  readonly version: string;
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
}

function cacheRoot(): string {
  return process.env.STAFETTE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'stafette');
}

/** The k8s.io/kubernetes version pinned in test/kube-binaries/go.mod, e.g. "v1.35.4". */
export function kubeVersion(): string {
  const goMod = readFileSync(join(REPO_ROOT, 'test/kube-binaries/go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes (v1\.\d+\.\d+)\b/m.exec(goMod);
  if (!match?.[1]) throw new Error('test/kube-binaries/go.mod does not require k8s.io/kubernetes');
  return match[1];
}

function requireBinary(path: string, script: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`make deps\` (or ${script}) to build it from the Go module proxy`);
  }
  return path;
}

/**
 * The pinned control-plane binaries. STAFETTE_KUBE_ASSETS (a folder holding all three,
 * like envtest's KUBEBUILDER_ASSETS) overrides the cache location.
 */
export function kubeAssets(): KubeAssets {
  const version = kubeVersion();
  const bin = process.env.STAFETTE_KUBE_ASSETS ?? join(cacheRoot(), `kube-${version}`, 'bin');
  const script = 'tools/go-build/kube.sh';
  return {
    version,
    kubeApiserver: requireBinary(join(bin, 'kube-apiserver'), script),
    etcd: requireBinary(join(bin, 'etcd'), script),
    kubectl: requireBinary(join(bin, 'kubectl'), script),
  };
}

/** The helm version tools/go-build/helm.sh builds (read from the script: one source). */
export function helmVersion(): string {
  if (process.env.STAFETTE_HELM_VERSION) return process.env.STAFETTE_HELM_VERSION;
  const script = readFileSync(join(REPO_ROOT, 'tools/go-build/helm.sh'), 'utf8');
  const match = /STAFETTE_HELM_VERSION:-(v[\d.]+)\}/.exec(script);
  if (!match?.[1]) throw new Error('no default helm version in tools/go-build/helm.sh');
  return match[1];
}

/** The pinned helm binary built by tools/go-build/helm.sh. */
export function helmBinary(): string {
  return requireBinary(join(cacheRoot(), `helm-${helmVersion()}`, 'bin', 'helm'), 'tools/go-build/helm.sh');
}

export interface KubeNodeAssets {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeScheduler: string;
  readonly kubeControllerManager: string;
}

/** The real node's components, built by tools/node/build-kube-node.sh from the same module. */
export function kubeNodeAssets(): KubeNodeAssets {
  const bin = join(cacheRoot(), `kube-node-${kubeVersion()}`, 'bin');
  const script = 'tools/node/build-kube-node.sh (make node-deps)';
  return {
    kubelet: requireBinary(join(bin, 'kubelet'), script),
    kubeProxy: requireBinary(join(bin, 'kube-proxy'), script),
    kubeScheduler: requireBinary(join(bin, 'kube-scheduler'), script),
    kubeControllerManager: requireBinary(join(bin, 'kube-controller-manager'), script),
  };
}

/** The kube-router version tools/node/build-kube-router.sh builds (read from the script: one source). */
export function kubeRouterVersion(): string {
  if (process.env.STAFETTE_KUBE_ROUTER_VERSION) return process.env.STAFETTE_KUBE_ROUTER_VERSION;
  const script = readFileSync(join(REPO_ROOT, 'tools/node/build-kube-router.sh'), 'utf8');
  const match = /STAFETTE_KUBE_ROUTER_VERSION:-(v[\d.]+)\}/.exec(script);
  if (!match?.[1]) throw new Error('no default kube-router version in tools/node/build-kube-router.sh');
  return match[1];
}

/** The real node's NetworkPolicy controller, built by tools/node/build-kube-router.sh. */
export function kubeRouterBinary(): string {
  return requireBinary(join(cacheRoot(), `kube-router-${kubeRouterVersion()}`, 'bin', 'kube-router'), 'tools/node/build-kube-router.sh (make node-tools)');
}
