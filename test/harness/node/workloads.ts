// What tests do with workloads on the real node (real-node.ts), shared by test/node/ and
// test/e2e/: helm with the node's kubeconfig and its own cache dirs, pods listed by label,
// namespaces that enforce Pod Security "restricted", and waiting until a namespace's pods
// are Ready (with the pods and their events in the error when they are not).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { helmBinary } from '../kube-assets.ts';
import { waitFor } from '../process.ts';
import type { RealNode } from './real-node.ts';

export interface Pod {
  metadata: { name: string; namespace: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; restartCount: number }[];
  };
}

export const isReady = (p: Pod): boolean => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export async function listPods(node: RealNode, namespace: string, selector?: string): Promise<Pod[]> {
  const out = await node.ok(['get', 'pods', '-n', namespace, ...(selector ? ['-l', selector] : []), '-o', 'json']);
  return (JSON.parse(out) as { items: Pod[] }).items;
}

/** Runs helm against the node; rejects with its output when it exits non-zero. */
export function helm(node: RealNode, args: readonly string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(helmBinary(), args, {
      env: {
        ...process.env,
        KUBECONFIG: node.kubeconfig,
        HELM_CACHE_HOME: join(node.cacheDir, 'helm-cache'),
        HELM_CONFIG_HOME: join(node.cacheDir, 'helm-config'),
        HELM_DATA_HOME: join(node.cacheDir, 'helm-data'),
      },
    });
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`helm ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

export function restrictedNamespace(node: RealNode, name: string): Promise<string> {
  return node.ok(['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
    }),
  });
}

/** Waits until the namespace has `count` pods (any number when omitted), all Ready and none terminating. */
export async function waitPodsReady(node: RealNode, namespace: string, options: { timeoutMs: number; selector?: string; count?: number }): Promise<Pod[]> {
  return waitFor(
    `every pod in ${namespace}${options.selector ? ` (${options.selector})` : ''} to be Ready`,
    async () => {
      const list = (await listPods(node, namespace, options.selector)).filter((p) => p.status.phase !== 'Succeeded');
      const whole = list.length > 0 && (options.count === undefined || list.length === options.count);
      return whole && list.every((p) => isReady(p) && !p.metadata.deletionTimestamp) ? list : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 1_000 },
  ).catch(async (err: Error) => {
    const pods = await node.ok(['get', 'pods', '-A', '-o', 'wide']);
    const described = await node.run(['describe', 'pods', '-n', namespace]).then((r) => r.stdout.slice(-4000));
    throw new Error(`${err.message}\n${pods}\n${described}`);
  });
}
