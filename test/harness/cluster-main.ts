// `make cluster`: the test harness's etcd + kube-apiserver with the CRDs installed, in
// the foreground, for people and for running the operator against. The admin
// kubeconfig goes to ./.stafette/kubeconfig; Ctrl-C stops both processes (by PID,
// via the harness's signal handling) and removes the data and the kubeconfig.
// The data is throwaway: each start is a fresh, empty cluster with new certificates;
// it lives in ./.stafette/cluster so the logs are still there after a stop.
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './kube-assets.ts';
import { startKubeApiServer } from './kube-apiserver.ts';

const stateDir = join(REPO_ROOT, '.stafette');
const kubeconfig = join(stateDir, 'kubeconfig');
const workDir = join(stateDir, 'cluster');
rmSync(workDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });

const started = Date.now();
process.stderr.write('cluster: starting etcd and kube-apiserver...\n');
const kube = await startKubeApiServer({ workDir, kubeconfigCopy: kubeconfig });
const shown = relative(process.cwd(), kubeconfig) || kubeconfig;
const kubectl = relative(process.cwd(), kube.kubectl).startsWith('..') ? kube.kubectl : relative(process.cwd(), kube.kubectl);

process.stdout.write(`
Kubernetes API ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${kube.url}
  CRDs:       ${kube.crds.join(', ') || '(none in crds/)'}
  kubeconfig: ${shown}
  logs:       ${join(kube.workDir, 'logs')}

  export KUBECONFIG=${kubeconfig}
  ${kubectl} get maildomains -A      # the pinned kubectl; any kubectl >= 1.34 works

No controllers run here (no garbage collection, no pods scheduled). Ctrl-C stops it.
`);

// The harness's own SIGINT/SIGTERM handler stops the processes and exits; this one only
// says so and drops the kubeconfig, which would point at a dead server.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    process.stderr.write(`\ncluster: ${signal}, stopping kube-apiserver and etcd...\n`);
    rmSync(kubeconfig, { force: true });
  });
}

// Should either process die on its own, stop the other and fail loudly.
const died = await Promise.race([kube.apiserver.exited.then(() => kube.apiserver), kube.etcd.exited.then(() => kube.etcd)]);
if (stopping)
  await new Promise(() => {
    /* the signal handler exits the process */
  });
process.stderr.write(`cluster: ${died.name} exited unexpectedly; see ${died.logFile}\n`);
await kube.stop();
rmSync(kubeconfig, { force: true });
process.exit(1);
