// `make kube-node`: the real one-node cluster (test/harness/node/) in the foreground, for
// people: the same node the chart test runs on. The admin kubeconfig goes to
// ./.stafette/node-kubeconfig; Ctrl-C takes the node down and prints anything of the
// machine that is not as it was (nothing, normally).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './kube-assets.ts';
import { startRealNode } from './node/real-node.ts';

const kubeconfig = join(REPO_ROOT, '.stafette', 'node-kubeconfig');
mkdirSync(join(REPO_ROOT, '.stafette'), { recursive: true });
const syncFrequency = process.env.STAFETTE_NODE_SYNC_FREQUENCY ?? '1m';
const networkPolicy = process.env.STAFETTE_NODE_NETWORK_POLICY === '1';
const node = await startRealNode({ syncFrequency, networkPolicy, log: (line) => process.stderr.write(`${line}\n`) });
copyFileSync(node.kubeconfig, kubeconfig);
const mib = node.memory();
process.stdout.write(`
A real node is running: ${node.nodeName} at ${node.nodeIp} (API ${node.url})
  Node Ready after ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s, CoreDNS after ${(node.timings.dnsReadyMs / 1000).toFixed(1)} s (images imported in ${(node.timings.imageImportMs / 1000).toFixed(1)} s)
  memory (PSS, MiB): ${Object.entries(mib)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}
  images: ${[node.images.stafette, node.images.natsServer, node.images.coredns, node.images.pause].join(', ')}
  kubelet syncFrequency: ${syncFrequency} (STAFETTE_NODE_SYNC_FREQUENCY)
  NetworkPolicies: ${networkPolicy ? 'enforced by kube-router' : 'not enforced (STAFETTE_NODE_NETWORK_POLICY=1 runs kube-router)'}

  export KUBECONFIG=${kubeconfig}
  ${node.kubectl} get pods -A
  helm install stafette charts/stafette -n mail --create-namespace --set image.pullPolicy=Never ...

Services are reachable through NodePorts on 127.0.0.1 and pod IPs on ${node.nodeIp.replace(/\.1$/, '.0/24')}. Ctrl-C stops it.
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\nnode: ${signal}, taking the node down...\n`);
  const left = await node.stop();
  rmSync(kubeconfig, { force: true });
  process.stderr.write(
    left.length === 0 ? 'node: stopped; the machine is as it was\n' : `node: stopped, but not everything is as it was:\n  ${left.join('\n  ')}\n`,
  );
  process.exit(left.length === 0 ? 0 : 1);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
await new Promise(() => {
  /* until a signal */
});
