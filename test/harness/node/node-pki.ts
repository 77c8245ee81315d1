// Certificates of the real node, all from the API server's CA: the API server's serving
// certificate also names the node's address and the kubernetes Service IP; every
// component gets its own client identity (the Node authorizer and the bootstrap RBAC
// roles know them by name); the kubelet gets a serving certificate for the node address.
import { join } from 'node:path';
import { writeKubeconfig } from '../kube-config.ts';
import { createKubePki, issue, type KubePki } from '../kube-pki.ts';
import type { NodeCredentials } from './components.ts';
import { KUBE_ROUTER_USER } from './kube-router.ts';
import { dirs, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME } from './layout.ts';

export interface NodePki {
  readonly pki: KubePki;
  /** The API server's client certificate toward kubelets (logs, exec, port-forward). */
  readonly apiserverKubeletClient: { cert: string; key: string };
  /** Writes the components' kubeconfigs for the API server at `url`. */
  credentials(url: string): NodeCredentials;
}

const leaf = { basicConstraints: 'critical,CA:FALSE', keyUsage: 'critical,digitalSignature', authorityKeyIdentifier: 'keyid' };

export async function createNodePki(): Promise<NodePki> {
  const pki = await createKubePki(dirs.pki, { serviceIp: KUBERNETES_SERVICE_IP, serverSans: [`IP:${NODE_IP}`] });
  const ca = { cert: pki.caCert, key: pki.caKey };
  const client = (name: string, cn: string, o?: string) =>
    issue(dirs.pki, {
      name,
      subject: o ? { O: o, CN: cn } : { CN: cn },
      extensions: { ...leaf, extendedKeyUsage: 'clientAuth' },
      issuer: ca,
    });
  const [kubelet, proxy, kubeRouter, scheduler, controllerManager, apiserverKubeletClient, kubeletServing] = await Promise.all([
    client('kubelet', `system:node:${NODE_NAME}`, 'system:nodes'),
    client('kube-proxy', 'system:kube-proxy'),
    // No bootstrap role knows it: real-node.ts binds kube-router.ts's read-only ClusterRole.
    client('kube-router', KUBE_ROUTER_USER),
    client('kube-scheduler', 'system:kube-scheduler'),
    client('kube-controller-manager', 'system:kube-controller-manager'),
    client('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', 'system:masters'),
    issue(dirs.pki, {
      name: 'kubelet-serving',
      subject: { CN: NODE_NAME },
      extensions: { ...leaf, extendedKeyUsage: 'serverAuth', subjectAltName: `IP:${NODE_IP},DNS:${NODE_NAME}` },
      issuer: ca,
    }),
  ]);
  return {
    pki,
    apiserverKubeletClient,
    credentials(url) {
      const file = (name: string) => join(dirs.pki, `${name}.kubeconfig`);
      const identities = { kubelet, proxy, kubeRouter, scheduler, controllerManager };
      const users = {
        kubelet: `system:node:${NODE_NAME}`,
        proxy: 'system:kube-proxy',
        kubeRouter: KUBE_ROUTER_USER,
        scheduler: 'system:kube-scheduler',
        controllerManager: 'system:kube-controller-manager',
      };
      for (const [k, id] of Object.entries(identities)) writeKubeconfig(file(k), url, pki, { user: users[k as keyof typeof users], ...id });
      return {
        caCert: pki.caCert,
        caKey: pki.caKey,
        serviceAccountKey: pki.serviceAccountKey,
        kubeconfigs: {
          kubelet: file('kubelet'),
          proxy: file('proxy'),
          kubeRouter: file('kubeRouter'),
          scheduler: file('scheduler'),
          controllerManager: file('controllerManager'),
        },
        kubeletServing,
      };
    },
  };
}
