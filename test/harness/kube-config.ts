// The admin kubeconfig for a harness API server. Certificates are embedded (not file
// paths) so the file still works when copied, e.g. ./.stafette/kubeconfig from
// `make cluster`. It holds the admin key, so it is written 0600.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ADMIN_USER, type KubePki } from './kube-pki.ts';

export const CONTEXT = 'stafette';

export function renderKubeconfig(url: string, pki: KubePki): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT, cluster: { server: url, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [{
      name: ADMIN_USER,
      user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
    }],
    contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: ADMIN_USER, namespace: 'default' } }],
    'current-context': CONTEXT,
  });
}

export function writeKubeconfig(path: string, url: string, pki: KubePki): void {
  writeFileSync(path, renderKubeconfig(url, pki), { mode: 0o600 });
}
