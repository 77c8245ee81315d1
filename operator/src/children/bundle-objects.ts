// The ConfigMap and Secrets that carry the bundle to the MTA pods (see
// bundle/files.ts for the layout and why the secret part is sharded).
import type { RenderResult } from '../render/render.ts';
import { configFileName, encodeBundleFiles, secretShardFileName } from '../../../bundle/files.ts';
import { managedByLabel, type ChildMetadata } from './owner.ts';

export const revisionAnnotation = 'stafette.dev/bundle-revision';

export interface BundleTarget {
  namespace: string;
  /** The ConfigMap's name; Secrets are <name>-secrets-<i>. */
  name: string;
  shards: number;
}

export function bundleSecretName(target: BundleTarget, index: number): string {
  return `${target.name}-secrets-${index}`;
}

type BundleObjectMetadata = ChildMetadata & { namespace: string; annotations: Record<string, string> };

export type BundleConfigMap = { apiVersion: 'v1'; kind: 'ConfigMap'; metadata: BundleObjectMetadata; binaryData: Record<string, string> };
export type BundleSecret = { apiVersion: 'v1'; kind: 'Secret'; metadata: BundleObjectMetadata; type: 'Opaque'; data: Record<string, string> };

/** The ConfigMap and the Secret shards of one revision, each annotated with it. */
export function bundleObjects(result: Pick<RenderResult, 'bundle' | 'secrets'>, target: BundleTarget): { configMap: BundleConfigMap; secrets: BundleSecret[] } {
  const files = encodeBundleFiles(result.bundle, result.secrets, target.shards);
  const metadata = (name: string): BundleObjectMetadata => ({
    name,
    namespace: target.namespace,
    labels: { ...managedByLabel, 'app.kubernetes.io/component': 'bundle' },
    annotations: { [revisionAnnotation]: result.bundle.revision },
  });
  return {
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(target.name), binaryData: { [configFileName]: files.config.toString('base64') } },
    secrets: files.secretShards.map((shard, i) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(bundleSecretName(target, i)),
      type: 'Opaque',
      data: { [secretShardFileName(i, target.shards)]: shard.toString('base64') },
    })),
  };
}
