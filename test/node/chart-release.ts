// How the node tests install the chart (chart-on-node, live-config, network-policy): the image
// built here (never pulled), the one-server NATS of nats.ts, mail for Mailboxes by LMTP to a
// Dovecot on the node, and no DNS for the operator to confirm DKIM records in (it signs at
// once). Each test adds the values it is about.
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/kube-assets.ts';

export interface LocalChartInstall {
  readonly release: string;
  readonly namespace: string;
  /** The image as the node holds it, `repository:tag`. */
  readonly image: string;
  readonly lmtp: { readonly host: string; readonly port: number };
  /** More `--set` values, each one `key=value[,key=value]`. */
  readonly set?: readonly string[];
}

/** The `helm install` arguments (after `helm`). */
export function localChartInstall(o: LocalChartInstall): string[] {
  const [repository, tag] = o.image.split(/:(?=[^:]+$)/);
  const values = [
    `image.repository=${repository},image.tag=${tag},image.pullPolicy=Never`,
    'nats.url=nats://nats.nats.svc.cluster.local:4222,nats.queueReplicas=1',
    `defaultDelivery.lmtp.host=${o.lmtp.host},defaultDelivery.lmtp.port=${o.lmtp.port}`,
    'operator.dkimPropagationDelaySeconds=0',
    ...(o.set ?? []),
  ];
  return ['install', o.release, join(REPO_ROOT, 'charts/stafette'), '-n', o.namespace, ...values.flatMap((v) => ['--set', v])];
}
