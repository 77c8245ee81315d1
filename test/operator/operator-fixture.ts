// Runs the real operator (in this process) against the harness's real kube-apiserver,
// as the admin or impersonating a ServiceAccount, and reads back what it wrote.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { conditionTypes, type ConditionType } from '../../crds/src/index.ts';
import { silentLogger } from '../../observability/logger.ts';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../operator/src/operator.ts';
import type { KubeApiServer } from '../harness/kube-apiserver.ts';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';
import { waitFor } from '../harness/process.ts';

export function kubeConfigFor(kube: KubeApiServer, impersonate?: string): KubeConfig {
  const base = new KubeConfig();
  base.loadFromFile(kube.kubeconfig);
  if (!impersonate) return base;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: base.users.map((u) => ({ ...u, impersonateUser: impersonate })),
    contexts: base.contexts,
    currentContext: base.currentContext,
  });
  return kc;
}

export async function runOperator(
  kube: KubeApiServer,
  namespace: string,
  overrides: Partial<OperatorOptions> & { as?: string } = {},
): Promise<RunningOperator> {
  const { as, ...rest } = overrides;
  return await startOperator({
    kubeConfig: kubeConfigFor(kube, as),
    namespaces: [namespace],
    bundle: { namespace, name: 'stafette-bundle', shards: 2 },
    leaseNamespace: namespace,
    logger: silentLogger,
    propagationDelayMs: 1000,
    leaseDurationMs: 4000,
    onLostLeadership: () => {},
    ...rest,
  });
}

export async function getJson<T = Record<string, unknown>>(kube: KubeApiServer, args: string[]): Promise<T> {
  return JSON.parse(await kube.ok([...args, '-o', 'json'])) as T;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export async function conditionOf(
  kube: KubeApiServer,
  resource: string,
  namespace: string,
  type: ConditionType = conditionTypes.ready,
): Promise<Condition | undefined> {
  const object = await getJson<{ status?: { conditions?: Condition[] } }>(kube, ['get', resource, '-n', namespace]);
  return object.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the resource's condition has the status (and reason, if given). */
export async function waitForCondition(
  kube: KubeApiServer,
  resource: string,
  namespace: string,
  status: string,
  reason?: string,
  type: ConditionType = conditionTypes.ready,
  timeoutMs = 30_000,
): Promise<Condition> {
  return await waitFor(
    `${resource} ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const c = await conditionOf(kube, resource, namespace, type);
      return c && c.status === status && (!reason || c.reason === reason) ? c : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

export async function apply(kube: KubeApiServer, namespace: string, yaml: string): Promise<void> {
  await kube.ok(['apply', '--server-side', '--field-manager=test', '-n', namespace, '-f', '-'], { input: yaml });
}

/** Only the operator's identity and permissions, as the chart renders them (release "stafette": ServiceAccount stafette-operator). */
export async function renderOperatorRbac(namespace: string, allNamespaces = false): Promise<string> {
  const { stdout } = await promisify(execFile)(
    helmBinary(),
    [
      'template',
      'stafette',
      join(REPO_ROOT, 'charts/stafette'),
      '--namespace',
      namespace,
      '--show-only',
      'templates/operator-serviceaccount.yaml',
      '--show-only',
      'templates/operator-rbac.yaml',
      ...(allNamespaces ? ['--set', 'operator.watchAllNamespaces=true', '--show-only', 'templates/operator-clusterrole.yaml'] : []),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}
