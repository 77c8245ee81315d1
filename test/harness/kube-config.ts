// The admin kubeconfig for a harness API server. Certificates are embedded (not file
// paths) so the file still works when copied, e.g. ./.stafette/kubeconfig from
// `make cluster`. It holds the admin key, so it is written 0600.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ADMIN_USER, type KubePki } from './kube-pki.ts';

export const CONTEXT = 'stafette';

/** A client identity: its certificate and key files, and the user name in the kubeconfig. */
export interface KubeClientCert {
  readonly user: string;
  readonly cert: string;
  readonly key: string;
}

export function renderKubeconfig(url: string, pki: KubePki, client: KubeClientCert = { user: ADMIN_USER, cert: pki.adminCert, key: pki.adminKey }): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT, cluster: { server: url, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [
      {
        name: client.user,
        user: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) },
      },
    ],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: client.user, namespace: 'default' } }],
    'current-context': CONTEXT,
  });
}

export function writeKubeconfig(path: string, url: string, pki: KubePki, client?: KubeClientCert): void {
  writeFileSync(path, renderKubeconfig(url, pki, client), { mode: 0o600 });
}
