// NATS JetStream for the chart on the real node, from the locally built nats-server image
// (the official chart cannot be fetched here). A StatefulSet behind a headless Service
// and the `nats` client Service, configured as helm/nats-values.yaml tells users to
// configure the official chart (file store, sync_interval always, max_payload 8 MB). One
// replica by default; with more, the servers form a cluster over their stable names (as
// the preset's config.cluster.replicas: 3). The store is an emptyDir unless `storage` names
// a StorageClass: then each server claims a PersistentVolume (volumeClaimTemplates, as the
// preset's fileStore.pvc), so a deleted pod returns with its data. With `roleUsers`, the
// servers carry the preset's authorization block (the one `stafette nats-config` renders:
// one user per Stafette role, docs/trust-model.md §5), the passwords in their environment
// from the Secret the chart generated (copied into this namespace, as the README does).
// Restricted Pod Security, like the chart's own pods.
import { stringify } from 'yaml';
import { rolePasswordEnv, roleUsers } from '../../cli/nats-config-command.ts';
import { natsRoles, queueNames, renderAuthorization } from '../../mta/src/queue/nats-roles.ts';
import { queueSettings } from '../../mta/src/queue/settings.ts';

export interface NatsOptions {
  readonly namespace: string;
  readonly image: string;
  readonly replicas?: number;
  /** Claim the store from this StorageClass (static PVs are fine: see staticVolumes) instead of an emptyDir. */
  readonly storage?: { readonly storageClassName: string; readonly size: string };
  /** Require the role users; their passwords from this Secret (keys <role>-password, as the chart's <release>-nats-users). */
  readonly roleUsers?: { readonly secretName: string };
}

/**
 * Static `local` PersistentVolumes for the StatefulSet's claims, one per server at
 * `<dir>/nats-<i>` (the directories must exist, writable by uid 65532), each bound ahead to
 * its claim data-nats-<i> so the servers keep their own store across restarts.
 */
export function natsStaticVolumes(options: {
  namespace: string;
  replicas: number;
  storageClassName: string;
  size: string;
  dir: string;
  nodeName: string;
}): string {
  return Array.from({ length: options.replicas }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${options.namespace}-data-nats-${i}` },
    spec: {
      capacity: { storage: options.size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: options.storageClassName,
      claimRef: { namespace: options.namespace, name: `data-nats-${i}` },
      local: { path: `${options.dir}/nats-${i}` },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [options.nodeName] }] }] },
      },
    },
  }))
    .map((o) => stringify(o))
    .join('---\n');
}

export function natsConfig(namespace: string, replicas: number, roleUsersEnabled = false): string {
  const routes = Array.from({ length: replicas }, (_, i) => `nats://nats-${i}.nats-headless.${namespace}.svc.cluster.local:6222`);
  return [
    'port: 4222',
    'http_port: 8222',
    'server_name: $POD_NAME',
    'max_payload: 8MB',
    'jetstream {',
    '  store_dir: /data',
    // As the NATS preset's 10Gi volume (helm/nats-values.yaml): the chart's stream caps
    // (nats.*MaxBytes, 8.25 GiB together) must fit in it, or the MTA cannot create its streams.
    '  max_file_store: 10GB',
    '  sync_interval: always',
    '}',
    ...(replicas > 1 ? ['cluster {', '  name: stafette', '  port: 6222', `  routes: [${routes.join(', ')}]`, '}'] : []),
    // As helm/nats-values.yaml's config.merge.authorization (the same users and permissions).
    ...(roleUsersEnabled ? [renderAuthorization(roleUsers(), queueNames(queueSettings()))] : []),
  ].join('\n');
}

export function natsManifests(options: NatsOptions): string {
  const { namespace, image, storage, roleUsers: users } = options;
  const replicas = options.replicas ?? 1;
  const labels = { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'nats' };
  const ports = [
    { name: 'client', port: 4222 },
    { name: 'cluster', port: 6222 },
    { name: 'monitor', port: 8222 },
  ];
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nats-config', namespace },
      data: { 'nats.conf': natsConfig(namespace, replicas, users !== undefined) },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nats-headless', namespace, labels },
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: labels, ports: ports.map((p) => ({ ...p, targetPort: p.name })) },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nats', namespace, labels },
      spec: { selector: labels, ports: [{ name: 'client', port: 4222, targetPort: 'client' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'nats', namespace, labels },
      spec: {
        serviceName: 'nats-headless',
        replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'nats',
                image,
                imagePullPolicy: 'Never',
                args: ['--config', '/etc/nats/nats.conf'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  // As the preset's container.env: the `$NAME` references of the authorization block.
                  ...(users
                    ? natsRoles.map((role) => ({
                        name: rolePasswordEnv[role],
                        valueFrom: { secretKeyRef: { name: users.secretName, key: `${role}-password` } },
                      }))
                    : []),
                ],
                ports: ports.map((p) => ({ name: p.name, containerPort: p.port })),
                readinessProbe: { httpGet: { path: '/healthz?js-enabled-only=true', port: 'monitor' }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/healthz?js-enabled-only=true', port: 'monitor' }, periodSeconds: 10, failureThreshold: 6 },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/nats' },
                  { name: 'data', mountPath: '/data' },
                ],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'nats-config' } }, ...(storage ? [] : [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }])],
          },
        },
        ...(storage
          ? {
              volumeClaimTemplates: [
                {
                  metadata: { name: 'data' },
                  spec: { accessModes: ['ReadWriteOnce'], storageClassName: storage.storageClassName, resources: { requests: { storage: storage.size } } },
                },
              ],
            }
          : {}),
      },
    },
  ];
  return objects.map((o) => stringify(o)).join('---\n');
}
