// Where the real node lives on this machine and the addresses it uses. One node per
// machine (the kubelet has fixed paths such as /var/lib/kubelet/device-plugins), so the
// places are fixed too: a crashed run's leftovers are found, and cleaned, by the next.
//
//   pods      10.244.0.0/24 on the bridge stfbr0, whose own address 10.244.0.1 is the
//             node's: the API server and the kubelet listen there, pods reach the host there
//   services  10.96.0.0/24, routed onto the bridge; cluster DNS at 10.96.0.10
//   NodePorts on 127.0.0.1 and 10.244.0.1 (kube-proxy), so tests reach Services locally
// Nothing is routed anywhere else: the harness drops what pods send off the bridge.
import { join } from 'node:path';

export const NODE_DIR = process.env.STAFETTE_NODE_DIR ?? '/tmp/stafette-node';
export const LOCK_FILE = `${NODE_DIR}.lock`;
export const STATE_FILE = join(NODE_DIR, 'state.json');

export const NODE_NAME = 'stafette-node';
export const BRIDGE = 'stfbr0';
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/24';
export const POD_RANGE = { start: '10.244.0.10', end: '10.244.0.250' };
export const SERVICE_CIDR = '10.96.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const DNS_SERVICE_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
export const API_PORT = 6443;
export const KUBELET_PORT = 10250;
/** Comment on every iptables rule the harness adds, so teardown finds exactly those. */
export const RULE_COMMENT = 'stafette-node';

/** cgroup (v1, every controller) of the node's pods (kubelet cgroupRoot) and of its daemons. */
export const POD_CGROUP = 'stafette-node';
export const DAEMON_CGROUP = 'stafette-node.daemons';

export const dirs = {
  pki: join(NODE_DIR, 'pki'),
  logs: join(NODE_DIR, 'logs'),
  apiserver: join(NODE_DIR, 'apiserver'),
  containerd: join(NODE_DIR, 'containerd'),
  kubelet: join(NODE_DIR, 'kubelet'),
  podLogs: join(NODE_DIR, 'pod-logs'),
  volumePlugins: join(NODE_DIR, 'volume-plugins'),
  cni: join(NODE_DIR, 'cni'),
  config: join(NODE_DIR, 'config'),
  kubectlCache: join(NODE_DIR, 'kube-cache'),
} as const;

/**
 * Paths outside NODE_DIR that the kubelet, containerd or the CNI plugins write to whatever
 * they are told: each is removed at teardown when it did not exist before the node started.
 */
export const FIXED_HOST_PATHS = [
  '/var/lib/kubelet',
  '/var/lib/kubelet/device-plugins',
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/cni',
  '/var/lib/cni/results',
  '/run/containerd',
  '/run/containerd/s',
  '/run/mount',
  '/usr/libexec/kubernetes',
  '/opt/containerd',
  '/etc/cni',
] as const;
