// NetworkPolicy enforcement on the real node. The CNI bridge plugin puts pods on the
// node's bridge and enforces no NetworkPolicy at all; kube-router (built from the Go
// module proxy by tools/node/build-kube-router.sh) runs beside it as the node's policy
// controller only: firewall on, routing (BGP, its own CNI) and service proxy (IPVS) off,
// kube-proxy keeps the Services. It watches pods, namespaces and NetworkPolicies and
// keeps filter-table chains (KUBE-ROUTER-{INPUT,FORWARD,OUTPUT}, KUBE-POD-FW-*,
// KUBE-NWPLCY-*) and ipsets (KUBE-SRC-*, KUBE-DST-*) in step with them; traffic a policy
// does not allow is REJECTed. Teardown (host-network.ts) removes the chains and ipsets.
//
// What kube-router never filters, by design: traffic whose source is an address of the
// node itself (the kubelet's probes, and NodePort connections, which kube-proxy
// masquerades to the node's address) is always let in to local pods. docs/trust-model.md
// says what that means for the chart's policies.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { waitFor, type ManagedProcess } from '../process.ts';
import { inDaemonCgroup } from './containerd.ts';
import { NODE_NAME, SERVICE_CIDR } from './layout.ts';

/** The identity kube-router's client certificate names (node-pki.ts). */
export const KUBE_ROUTER_USER = 'system:kube-router';

/** What kube-router's informers read: it lists and watches these, and writes nothing. */
export function kubeRouterRbac(): string {
  const read = ['get', 'list', 'watch'];
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'stafette-node:kube-router' },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'pods', 'services', 'endpoints', 'nodes'], verbs: read },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: read },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'stafette-node:kube-router' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'stafette-node:kube-router' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: KUBE_ROUTER_USER }],
    },
  ]
    .map((o) => stringify(o))
    .join('---\n');
}

export function kubeRouterArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${NODE_NAME}`,
    // NetworkPolicies only: pods are networked by the CNI bridge plugin, Services by kube-proxy.
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--enable-cni=false',
    // It lets traffic to ClusterIPs through its INPUT chain; kube-proxy's DNAT has turned it
    // into pod traffic by the time the pod chains see it.
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--enable-ipv6=false',
    // No listener: nothing scrapes it, and its health port would listen on every interface.
    '--health-port=0',
    '--metrics-port=0',
    // A policy event syncs at once; the periodic full sync repairs anything else.
    '--iptables-sync-period=1m',
    '--v=1',
  ];
}

/** Starts kube-router (the Node object must exist: it reads the node's address from it) and waits for its first full sync. */
export async function startKubeRouter(binary: string, kubeconfig: string, timeoutMs = 60_000): Promise<ManagedProcess> {
  const proc = inDaemonCgroup('kube-router', binary, kubeRouterArgs(kubeconfig));
  await waitFor(
    'kube-router to sync its firewall',
    () => {
      if (proc.child.exitCode !== null) throw new Error(`kube-router exited (${proc.child.exitCode}):\n${logTail(proc.logFile)}`);
      return /sync iptables took/.test(readLog(proc.logFile)) && chainExists('KUBE-ROUTER-FORWARD') ? true : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
  return proc;
}

/**
 * Whether kube-router has written the rules of a NetworkPolicy (its chains' comments name
 * each policy by name and namespace): after this, the policy is what the node enforces.
 */
export function policyEnforced(namespace: string, name: string): boolean {
  return iptablesSave().includes(`policy name ${name} namespace ${namespace}`);
}

export function iptablesSave(): string {
  try {
    return execFileSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
  } catch {
    return '';
  }
}

function chainExists(chain: string): boolean {
  try {
    execFileSync('iptables', ['-w', '-S', chain], { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function logTail(file: string): string {
  return readLog(file).trimEnd().split('\n').slice(-15).join('\n');
}
