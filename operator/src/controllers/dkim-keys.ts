// The DKIM keys that exist in the cluster, read from the operator's Secrets. A key is
// trusted only when its Secret is owned by the MailDomain that serves its domain, so a
// Secret someone else labels as a DKIM key can never sign for a domain.
import type { MailDomain } from '../../../crds/src/index.ts';
import { dkimKeyFromSecret, type StoredDkimKey } from '../children/dkim-secret.ts';
import { domainLabel } from '../children/owner.ts';
import type { ClusterState } from './cluster-state.ts';

export function keysOf(state: Pick<ClusterState, 'secrets'>, domain: MailDomain): (StoredDkimKey & { retiringSince?: string })[] {
  const keys: (StoredDkimKey & { retiringSince?: string })[] = [];
  for (const secret of state.secrets.list()) {
    const meta = secret.metadata;
    if (meta.namespace !== domain.metadata.namespace || meta.labels?.[domainLabel] !== domain.metadata.name) continue;
    if (!meta.ownerReferences?.some((o) => o.uid === domain.metadata.uid)) continue;
    const key = dkimKeyFromSecret(secret);
    if (key && key.domain === domain.spec.domain) keys.push({ ...key, retiringSince: meta.annotations?.[retiringAnnotation] });
  }
  return keys;
}

export const retiringAnnotation = 'stafette.dev/retiring-since';
