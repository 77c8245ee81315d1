// A real one-node Kubernetes cluster on this machine, for tests that need pods: etcd and
// kube-apiserver (the same harness as the API-only tests), kube-controller-manager,
// kube-scheduler, kube-proxy, the kubelet on containerd + runc with the CNI bridge,
// CoreDNS, and (when asked) kube-router enforcing NetworkPolicies; every binary built or installed by the project's scripts, every image built
// here and imported, nothing pulled. See layout.ts for the addresses and README.md.
//
//   const node = await startRealNode({ syncFrequency: '10s' });
//   after(async () => assert.deepEqual(await node.stop(), []));   // the machine as it was
//
// Only one node per machine: a second start while one runs is refused (lock.ts), and a
// crashed run's leftovers are taken down first. stop() also runs on SIGINT/SIGTERM/SIGHUP.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeNodeAssets, kubeRouterBinary } from '../kube-assets.ts';
import { startKubeApiServer, stopOnHarnessSignals, type KubeApiServer } from '../kube-apiserver.ts';
import { kubectlOk, runKubectl, type KubectlOptions, type KubectlResult, type KubectlTarget } from '../kubectl.ts';
import { waitFor, type ManagedProcess } from '../process.ts';
import { createNodeCgroups, podMemoryBytes } from './cgroups.ts';
import { startNodeComponents } from './components.ts';
import { ctr, importImages, startContainerd } from './containerd.ts';
import { corednsManifests } from './coredns.ts';
import { hostChanges, nodeProcesses, snapshotHost } from './host-state.ts';
import { setUpNetwork } from './host-network.ts';
import { kubeRouterRbac, startKubeRouter } from './kube-router.ts';
import { nodeImages, type NodeImages } from './images.ts';
import { API_PORT, BRIDGE, dirs, NODE_DIR, NODE_IP, NODE_NAME, SERVICE_CIDR } from './layout.ts';
import { acquireNodeLock, releaseNodeLock } from './lock.ts';
import { createNodePki } from './node-pki.ts';
import { readState, tearDownNode, writeState } from './teardown.ts';

export interface RealNodeOptions {
  /** The kubelet's syncFrequency: how soon ConfigMap/Secret volumes follow their objects (default 1m, as the kubelet). */
  readonly syncFrequency?: string;
  /** Zones CoreDNS forwards to a DNS server on this machine, e.g. { test: '10.244.0.1:5353' }. */
  readonly forwardZones?: Readonly<Record<string, string>>;
  /**
   * Enforce NetworkPolicies: run kube-router as the node's policy controller beside the
   * CNI bridge plugin (kube-router.ts). Off by default: the bridge plugin alone enforces none.
   */
  readonly networkPolicy?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface RealNodeTimings {
  /** From startRealNode() to the Node reporting Ready. */
  readonly nodeReadyMs: number;
  /** From startRealNode() to CoreDNS Ready. */
  readonly dnsReadyMs: number;
  /** Importing the image archives into containerd (in parallel with the control plane). */
  readonly imageImportMs: number;
}

export interface RealNode extends KubectlTarget {
  readonly url: string;
  readonly nodeName: string;
  /** The node's address on its bridge: pods reach the host here, and NodePorts listen here too. */
  readonly nodeIp: string;
  /** Whether NetworkPolicies are enforced (kube-router runs: RealNodeOptions.networkPolicy). */
  readonly networkPolicy: boolean;
  readonly images: NodeImages;
  readonly timings: RealNodeTimings;
  readonly api: KubeApiServer;
  run(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  ok(args: readonly string[], options?: KubectlOptions): Promise<string>;
  /** The host PID of a container's first process (containerStatuses[].containerID without containerd://). */
  containerPid(containerId: string): Promise<number>;
  /** Memory of the node in MiB: each daemon's PSS, the pods' cgroup usage, and the total. */
  memory(): Record<string, number>;
  /** The end of a component's log (kubelet, containerd, kube-apiserver, ...). */
  logTail(component: string, lines?: number): string;
  /** Takes the node down; resolves with what still differs from before it started (empty: nothing). */
  stop(): Promise<string[]>;
}

export async function startRealNode(options: RealNodeOptions = {}): Promise<RealNode> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  if (process.getuid?.() !== 0) throw new Error('the real node needs root (bridge, iptables, mounts, cgroups)');
  const binaries = kubeNodeAssets();
  const kubeRouter = options.networkPolicy ? kubeRouterBinary() : undefined;
  const images = nodeImages();
  const staleLock = acquireNodeLock();
  // Ctrl-C or a cancelled test run during the start: still taken down before the exit.
  let unhook = stopOnHarnessSignals({ stop: () => stopNode(api ? () => api!.stop() : undefined) });
  let api: KubeApiServer | undefined;
  try {
    if (staleLock || existsSync(NODE_DIR) || existsSync(`/sys/class/net/${BRIDGE}`)) {
      log(`real node: taking down what a previous run left (${staleLock ? 'stale lock' : NODE_DIR})`);
      const problems = await tearDownNode();
      if (problems.length > 0) log(`real node: leftovers of the previous run: ${problems.join('; ')}`);
    }
    const before = snapshotHost();
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    writeState({
      version: 1,
      ownerPid: process.pid,
      ownerCmdline: readFileSync(`/proc/${process.pid}/cmdline`, 'utf8'),
      startedAt: new Date(started).toISOString(),
      before,
    });
    createNodeCgroups();
    setUpNetwork();
    const pki = await createNodePki();
    const url = `https://${NODE_IP}:${API_PORT}`;
    const credentials = pki.credentials(url);
    log('real node: starting etcd, kube-apiserver and containerd');
    let imageImportMs = 0;
    const runtime = (async () => {
      const containerd = await startContainerd(images.pause);
      const t = Date.now();
      await importImages(images.archives);
      imageImportMs = Date.now() - t;
      return containerd;
    })();
    const control = startKubeApiServer({
      workDir: dirs.apiserver,
      pki: pki.pki,
      crdDir: null,
      node: {
        host: NODE_IP,
        port: API_PORT,
        serviceCidr: SERVICE_CIDR,
        extraArgs: [
          `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
          `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
          `--kubelet-certificate-authority=${pki.pki.caCert}`,
          // By address: a hostname would be asked of the machine's resolver.
          '--kubelet-preferred-address-types=InternalIP',
          '--endpoint-reconciler-type=lease',
        ],
      },
    });
    const [, apiServer] = await Promise.all([runtime, control]);
    api = apiServer;
    const daemons: ManagedProcess[] = startNodeComponents(binaries, credentials, { syncFrequency: options.syncFrequency ?? '1m' });
    const target: KubectlTarget = { kubectl: api.kubectl, kubeconfig: api.kubeconfig, cacheDir: dirs.kubectlCache };
    const ok = (args: readonly string[], o?: KubectlOptions) => kubectlOk(target, args, o);
    const died = await waitFor(
      'the node to be Ready',
      async () => {
        const dead = daemons.find((d) => d.child.exitCode !== null);
        if (dead) return dead;
        const status = await runKubectl(target, ['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return status.stdout.trim() === 'True' ? 'ready' : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    if (died !== 'ready') throw new Error(`${died.name} exited (${died.child.exitCode}):\n${tail(died.logFile, 15)}`);
    const nodeReadyMs = Date.now() - started;
    log(`real node: Node Ready after ${(nodeReadyMs / 1000).toFixed(1)} s`);
    if (kubeRouter) {
      // After the Node exists (kube-router reads the node's address from it), before any pod.
      await ok(['apply', '--server-side', '-f', '-'], { input: kubeRouterRbac() });
      await startKubeRouter(kubeRouter, credentials.kubeconfigs.kubeRouter);
      log(`real node: kube-router enforces NetworkPolicies after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    log('real node: starting CoreDNS');
    await ok(['apply', '--server-side', '-f', '-'], { input: corednsManifests(images.coredns, options.forwardZones) });
    await ok(['wait', '-n', 'kube-system', '--for=condition=Available', 'deployment/coredns', '--timeout=120s'], { timeoutMs: 130_000 });
    const dnsReadyMs = Date.now() - started;
    log(`real node: CoreDNS Ready after ${(dnsReadyMs / 1000).toFixed(1)} s`);

    const control2 = api;
    let stopped: Promise<string[]> | undefined;
    const node: RealNode = {
      ...target,
      url,
      nodeName: NODE_NAME,
      nodeIp: NODE_IP,
      networkPolicy: kubeRouter !== undefined,
      images,
      timings: { nodeReadyMs, dnsReadyMs, imageImportMs },
      api: control2,
      run: (args, o) => runKubectl(target, args, o),
      ok,
      memory: () => nodeMemory(),
      async containerPid(containerId) {
        const line = (await ctr(['tasks', 'list'])).split('\n').find((l) => l.startsWith(`${containerId} `));
        const pid = Number(line?.trim().split(/\s+/)[1]);
        if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no running task ${containerId}`);
        return pid;
      },
      logTail: (component, lines = 40) => tail(join(dirs.logs, `${component}.log`), lines) || tail(join(dirs.apiserver, 'logs', `${component}.log`), lines),
      stop() {
        stopped ??= stopNode(() => control2.stop()).finally(unhook);
        return stopped;
      },
    };
    unhook();
    unhook = stopOnHarnessSignals(node);
    return node;
  } catch (err) {
    unhook();
    const problems = await stopNode(api ? () => api!.stop() : undefined);
    if (problems.length > 0) (err as Error).message += `\nand the machine is not as it was: ${problems.join('; ')}`;
    throw err;
  }
}

/** Tears down, checks the machine against the snapshot taken before the start, releases the lock. */
async function stopNode(apiStop?: () => Promise<void>): Promise<string[]> {
  const before = readState()?.before;
  const problems = await tearDownNode(apiStop);
  const changes = before ? hostChanges(before, snapshotHost()) : ['no state file: nothing to compare with'];
  releaseNodeLock();
  return [...problems, ...changes];
}

function pss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function nodeMemory(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of nodeProcesses()) {
    const name = p.cmdline.split(' ')[0]!.split('/').pop()!;
    out[name] = (out[name] ?? 0) + pss(p.pid);
  }
  out.pods = podMemoryBytes() / 1024 / 1024;
  out.total = Object.values(out).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v)]));
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
