// Writing the bundle's objects (children/bundle-objects.ts) for one revision. The
// Secrets go first: a ConfigMap of a new revision must never refer to keys the MTA
// cannot see yet. An object already annotated with the revision is skipped, so a write
// interrupted half-way (a killed or deposed operator) is finished, not redone.
import { bundleObjects, revisionAnnotation, type BundleTarget } from '../children/bundle-objects.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RenderResult } from '../render/render.ts';

/** Brings the bundle's objects to the render's revision; resolves to how many were written. */
export async function writeBundle(client: KubeClient, target: BundleTarget, result: Pick<RenderResult, 'bundle' | 'secrets'>): Promise<number> {
  const { configMap, secrets } = bundleObjects(result, target);
  let written = 0;
  for (const object of [...secrets, configMap]) {
    const current = await client.get({ apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name });
    if (current?.metadata.annotations?.[revisionAnnotation] === result.bundle.revision) continue;
    await client.apply(object);
    written += 1;
  }
  return written;
}
