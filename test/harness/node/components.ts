// The configuration of the node's Kubernetes components, and their start. Every setting
// here that is not a default is one this machine needs (2 cores, Debian 12, hybrid
// cgroup v1, no systemd, root without CAP_SYS_RESOURCE, no registry, nothing routed out);
// the reason is next to it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ManagedProcess } from '../process.ts';
import { CONTAINERD_SOCKET, inDaemonCgroup } from './containerd.ts';
import { CLUSTER_DOMAIN, dirs, DNS_SERVICE_IP, KUBELET_PORT, NODE_IP, NODE_NAME, POD_CGROUP, POD_CIDR, SERVICE_CIDR } from './layout.ts';

export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeScheduler: string;
  readonly kubeControllerManager: string;
}

export interface NodeCredentials {
  readonly caCert: string;
  readonly caKey: string;
  readonly serviceAccountKey: string;
  /** kubeconfig files, one identity each. */
  readonly kubeconfigs: {
    readonly kubelet: string;
    readonly proxy: string;
    readonly kubeRouter: string;
    readonly scheduler: string;
    readonly controllerManager: string;
  };
  readonly kubeletServing: { readonly cert: string; readonly key: string };
}

export interface KubeletSettings {
  /** How often the kubelet re-syncs pods, which is how fast ConfigMap/Secret volumes update. */
  readonly syncFrequency: string;
}

export function kubeletConfig(credentials: NodeCredentials, settings: KubeletSettings): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The kubelet refuses cgroup v1 from 1.35 on unless told otherwise; no systemd here.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    // Pods in a cgroup of their own (created beforehand in every hierarchy), so teardown
    // finds every container process.
    cgroupRoot: `/${POD_CGROUP}`,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    // Served on the node's bridge address only, for the API server (logs, exec).
    address: NODE_IP,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 0,
    tlsCertFile: credentials.kubeletServing.cert,
    tlsPrivateKeyFile: credentials.kubeletServing.key,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: credentials.caCert } },
    // Only the API server (a client certificate of our CA) reaches it; no webhook round trip.
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [DNS_SERVICE_IP],
    clusterDomain: CLUSTER_DOMAIN,
    // The host's resolv.conf must not leak into pods (its search domains, its servers).
    resolvConf: join(dirs.config, 'resolv.conf'),
    podLogsDir: dirs.podLogs,
    volumePluginDir: dirs.volumePlugins,
    // ConfigMap and Secret volumes follow their objects every syncFrequency (x 1-1.5).
    syncFrequency: settings.syncFrequency,
    // Images cannot be pulled again: never garbage-collect them; the disk is shared.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    failSwapOn: false,
    // No KUBE-FIREWALL and canary chains of the kubelet's own (kube-proxy has its own).
    makeIPTablesUtilChains: false,
    // Lowering its own oom_score_adj needs CAP_SYS_RESOURCE.
    oomScoreAdj: 0,
    serializeImagePulls: false,
    registerNode: true,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // A test node: kubelet-side pod shutdown is not asked for.
    shutdownGracePeriod: '0s',
    maxPods: 110,
  };
}

export function kubeProxyConfig(credentials: NodeCredentials): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    // iptables mode: the nftables mode does not serve NodePorts on 127.0.0.1.
    mode: 'iptables',
    clientConnection: { kubeconfig: credentials.kubeconfigs.proxy },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    clusterCIDR: POD_CIDR,
    // NodePorts where tests can reach them: loopback (kube-proxy sets route_localnet=1,
    // restored at teardown) and the node's bridge address.
    nodePortAddresses: ['127.0.0.0/8', `${NODE_IP}/32`],
    // Loopback only (the defaults listen on every interface); port 0 is refused.
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // 0: leave the machine's conntrack sysctls alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    oomScoreAdj: 0,
    iptables: { masqueradeAll: false, localhostNodePorts: true, syncPeriod: '10s', minSyncPeriod: '1s' },
    detectLocalMode: 'ClusterCIDR',
  };
}

export function writeNodeConfigs(credentials: NodeCredentials, settings: KubeletSettings): { kubelet: string; proxy: string } {
  const kubelet = join(dirs.config, 'kubelet.yaml');
  const proxy = join(dirs.config, 'kube-proxy.yaml');
  writeFileSync(kubelet, stringify(kubeletConfig(credentials, settings)));
  writeFileSync(proxy, stringify(kubeProxyConfig(credentials)));
  // Pods with dnsPolicy Default (CoreDNS) get this: the node itself, where nothing serves
  // DNS unless a test starts a server there. No other resolver is ever asked.
  writeFileSync(join(dirs.config, 'resolv.conf'), `nameserver ${NODE_IP}\n`);
  return { kubelet, proxy };
}

/** Starts the controller-manager, scheduler, kube-proxy and kubelet (in that order). */
export function startNodeComponents(binaries: NodeBinaries, credentials: NodeCredentials, settings: KubeletSettings): ManagedProcess[] {
  const configs = writeNodeConfigs(credentials, settings);
  const quiet = ['--v=1'];
  return [
    inDaemonCgroup('kube-controller-manager', binaries.kubeControllerManager, [
      `--kubeconfig=${credentials.kubeconfigs.controllerManager}`,
      // No serving: nothing here scrapes it, and serving would need a front-proxy CA.
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${credentials.serviceAccountKey}`,
      `--root-ca-file=${credentials.caCert}`,
      `--cluster-signing-cert-file=${credentials.caCert}`,
      `--cluster-signing-key-file=${credentials.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // The bridge plugin's IPAM hands out pod addresses; no per-node CIDRs.
      '--allocate-node-cidrs=false',
      `--flex-volume-plugin-dir=${dirs.volumePlugins}`,
      '--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
      ...quiet,
    ]),
    inDaemonCgroup('kube-scheduler', binaries.kubeScheduler, [
      `--kubeconfig=${credentials.kubeconfigs.scheduler}`,
      '--secure-port=0',
      '--leader-elect=false',
      ...quiet,
    ]),
    inDaemonCgroup('kube-proxy', binaries.kubeProxy, [`--config=${configs.proxy}`, ...quiet]),
    inDaemonCgroup('kubelet', binaries.kubelet, [
      `--config=${configs.kubelet}`,
      `--kubeconfig=${credentials.kubeconfigs.kubelet}`,
      `--root-dir=${dirs.kubelet}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      ...quiet,
    ]),
  ];
}
