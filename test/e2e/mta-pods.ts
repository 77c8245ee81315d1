// The MTA pods of the e2e install as the scenarios see them: the Ready ones (not
// terminating), and the text of one pod's /metrics on the chart's ops port, read by its
// pod IP from the host (the node routes the pod network).
import { isReady, listPods, type Pod } from '../harness/node/workloads.ts';
import { MTA_SELECTOR, NS, type E2eInstall } from './install.ts';

/** The chart's mta.containerPorts.ops: /metrics. */
export const OPS_PORT = 9090;

export const readyMtaPods = async (e2e: E2eInstall): Promise<Pod[]> =>
  (await listPods(e2e.node, NS, MTA_SELECTOR)).filter((p) => isReady(p) && !p.metadata.deletionTimestamp);

/** The pod's /metrics text; rejects when it cannot be read or does not answer 200. */
export async function readMetrics(pod: Pod): Promise<string> {
  const res = await fetch(`http://${pod.status.podIP}:${OPS_PORT}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return text;
}
