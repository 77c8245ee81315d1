// A real Kubernetes API for tests and `make cluster`: etcd + kube-apiserver built from
// the Go module proxy (tools/go-build/kube.sh), the envtest approach. There are no
// controllers: no garbage collection, namespaces never finish deleting, so tests use
// fresh names instead of cleaning up.
//
//   const kube = await startKubeApiServer();   // CRDs from crds/ installed
//   after(() => kube.stop());
//
// Both processes are stopped by PID in stop(), on SIGINT/SIGTERM/SIGHUP, and (SIGKILL)
// when the Node process exits, so a failing test leaves no process or port behind.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeAssets, REPO_ROOT } from './kube-assets.ts';
import { installCrds } from './kube-crds.ts';
import { kubeRequest, type KubeCredentials, type KubeRequest, type KubeResponse } from './kube-http.ts';
import { writeKubeconfig } from './kube-config.ts';
import { startEtcd } from './kube-etcd.ts';
import { createKubePki, type KubePki } from './kube-pki.ts';
import { startOnFreePorts, waitReady } from './kube-startup.ts';
import { kubectlOk, runKubectl, type KubectlOptions, type KubectlResult, type KubectlTarget } from './kubectl.ts';
import { startProcess, type ManagedProcess } from './process.ts';

export interface KubeApiServerOptions {
  /** CRD manifests to install and wait for; default <repo>/crds; null installs none. */
  readonly crdDir?: string | null;
  /** Certificates, etcd data and logs; default a fresh temp dir, removed by stop(). */
  readonly workDir?: string;
  /** Also write the admin kubeconfig here (make cluster: ./.stafette/kubeconfig). */
  readonly kubeconfigCopy?: string;
  readonly startTimeoutMs?: number;
  /** Certificates made by the caller (a real node issues more from the same CA); default a fresh PKI. */
  readonly pki?: KubePki;
  /** Run as the control plane of a real node (test/harness/node/) instead of the API alone. */
  readonly node?: ApiServerNodeOptions;
}

/**
 * The API server of a real node: it serves on the node's bridge address (pods must reach
 * it, and the `kubernetes` Service cannot point at loopback), controllers run beside it
 * (so ServiceAccount admission stays on), the Node authorizer admits the kubelet, and
 * `extraArgs` add the kubelet client flags.
 */
export interface ApiServerNodeOptions {
  readonly host: string;
  readonly port: number;
  readonly serviceCidr: string;
  readonly extraArgs: readonly string[];
}

export interface KubeApiServer extends KubectlTarget {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly caFile: string;
  readonly workDir: string;
  readonly pki: KubePki;
  readonly etcd: ManagedProcess;
  readonly apiserver: ManagedProcess;
  /** Names of the installed CRDs, e.g. maildomains.stafette.dev. */
  readonly crds: readonly string[];
  /** kubectl as the admin user (system:masters); never rejects on a non-zero exit. */
  run(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that throws with kubectl's stderr unless it exits 0; resolves with stdout. */
  ok(args: readonly string[], options?: KubectlOptions): Promise<string>;
  /** A raw HTTPS request, as the admin unless other credentials (`{ token }`) are given. */
  request(request: KubeRequest, credentials?: KubeCredentials): Promise<KubeResponse>;
  stop(): Promise<void>;
}

/** What the harness stops on SIGINT/SIGTERM/SIGHUP before exiting: API servers, real nodes. */
const live = new Set<{ stop(): Promise<unknown> }>();

/** Has `stoppable` stopped (and awaited) when the process is told to stop; returns the undo. */
export function stopOnHarnessSignals(stoppable: { stop(): Promise<unknown> }): () => void {
  stopOnSignals();
  live.add(stoppable);
  return () => {
    live.delete(stoppable);
  };
}
/** Temp work dirs this process created and has not removed yet. */
const ownedWorkDirs = new Set<string>();

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  stopOnSignals();
  const assets = kubeAssets();
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'stafette-kube-'));
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  // Registered now, so a crash or signal during startup still removes it on exit.
  if (ownsWorkDir) ownedWorkDirs.add(workDir);
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  const started: ManagedProcess[] = [];
  const stopProcesses = async () => {
    // API server first, so it does not spend its shutdown retrying a vanished etcd.
    for (const p of [...started].reverse()) await p.stop('SIGTERM', 15_000);
  };
  try {
    const pki = options.pki ?? (await createKubePki(join(workDir, 'pki')));
    const etcd = await startEtcd(assets.etcd, workDir, timeoutMs);
    started.push(etcd.proc);
    const admin: KubeCredentials = { certFile: pki.adminCert, keyFile: pki.adminKey };
    const launch = (host: string, port: number) => {
      const url = `https://${host}:${port}`;
      const proc = startProcess('kube-apiserver', assets.kubeApiserver, apiserverArgs(host, port, etcd.url, pki, workDir, options.node), {
        logDir: join(workDir, 'logs'),
        cwd: workDir,
        detached: options.node !== undefined,
      });
      const ready = async () => (await kubeRequest({ url, caFile: pki.caCert }, admin, { path: '/readyz', timeoutMs: 5_000 })).status === 200;
      return { proc, ready, what: `kube-apiserver to be ready on ${url}` };
    };
    let apiserver: ManagedProcess;
    let url: string;
    if (options.node) {
      // The node's own address and port: nothing else binds there.
      const { proc, ready, what } = launch(options.node.host, options.node.port);
      started.push(proc);
      await waitReady(proc, what, ready, timeoutMs);
      apiserver = proc;
      url = `https://${options.node.host}:${options.node.port}`;
    } else {
      const { proc, ports } = await startOnFreePorts(1, ([port]) => launch('127.0.0.1', port!), timeoutMs);
      started.push(proc);
      apiserver = proc;
      url = `https://127.0.0.1:${ports[0]}`;
    }
    const kubeconfig = join(workDir, 'kubeconfig');
    writeKubeconfig(kubeconfig, url, pki);
    if (options.kubeconfigCopy) copyFileSync(kubeconfig, options.kubeconfigCopy);
    const target: KubectlTarget = { kubectl: assets.kubectl, kubeconfig, cacheDir: join(workDir, 'kube-cache') };
    const crdDir = options.crdDir === undefined ? join(REPO_ROOT, 'crds') : options.crdDir;
    const crds = crdDir === null ? [] : await installCrds(target, crdDir, timeoutMs);
    let stopped: Promise<void> | undefined;
    const server: KubeApiServer = {
      ...target,
      url,
      caFile: pki.caCert,
      workDir,
      pki,
      etcd: etcd.proc,
      apiserver,
      crds,
      run: (args, o) => runKubectl(target, args, o),
      ok: (args, o) => kubectlOk(target, args, o),
      request: (request, credentials = admin) => kubeRequest({ url, caFile: pki.caCert }, credentials, request),
      stop() {
        stopped ??= (async () => {
          await stopProcesses();
          live.delete(server);
          if (ownsWorkDir) removeWorkDir(workDir);
        })();
        return stopped;
      },
    };
    live.add(server);
    return server;
  } catch (err) {
    await stopProcesses();
    if (ownsWorkDir) removeWorkDir(workDir);
    throw err;
  }
}

/** The flags envtest (controller-runtime) passes, bound to loopback only; or a real node's. */
function apiserverArgs(host: string, port: number, etcdUrl: string, pki: KubePki, workDir: string, node?: ApiServerNodeOptions): string[] {
  const nodeArgs = node
    ? [
        // The kubelet's requests are authorized as its Node, and NodeRestriction limits them.
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--service-cluster-ip-range=${node.serviceCidr}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        ...node.extraArgs,
      ]
    : [
        '--service-cluster-ip-range=10.0.0.0/24',
        // Real authorization, so RBAC tests mean something; system:masters still bypasses it.
        '--authorization-mode=RBAC',
        // No controller-manager mints ServiceAccount token Secrets; the plugin would reject pods.
        '--disable-admission-plugins=ServiceAccount',
        `--service-account-issuer=https://127.0.0.1:${port}`,
      ];
  return [
    `--bind-address=${host}`,
    `--advertise-address=${host}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(workDir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--etcd-servers=${etcdUrl}`,
    '--allow-privileged=true',
    ...nodeArgs,
    // ServiceAccount tokens (TokenRequest) are signed and verified with this pair.
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--profiling=false',
  ];
}

function removeWorkDir(dir: string): void {
  if (process.env.STAFETTE_KEEP_KUBE_DIR) {
    process.stderr.write(`kube harness: keeping ${dir} (STAFETTE_KEEP_KUBE_DIR)\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  ownedWorkDirs.delete(dir);
}

let signalsHooked = false;

/**
 * Ctrl-C, `kill`, or the test runner cancelling a file: stop every server gracefully,
 * then exit with the conventional 128+signal status. A second signal exits at once;
 * process.ts's exit hook then SIGKILLs the children by PID.
 */
function stopOnSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + (numbers[signal] ?? 0);
      if (stopping) process.exit(code);
      stopping = true;
      void Promise.allSettled([...live].map((s) => s.stop())).finally(() => process.exit(code));
    });
  }
  // Last resort when the process exits without stop() (an uncaught error): process.ts has
  // already SIGKILLed the children by now (its hook was registered first); drop the dirs.
  process.once('exit', () => {
    if (process.env.STAFETTE_KEEP_KUBE_DIR) return;
    for (const dir of ownedWorkDirs) rmSync(dir, { recursive: true, force: true });
  });
}
