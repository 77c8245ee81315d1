// The metadata every child carries: the operator's labels and an owner reference from
// the Stafette resource it was made for, so that deleting the resource lets the garbage
// collector delete its children. Owners and children always share a namespace
// (cross-namespace owners are not allowed).
import { apiVersion, type Kind, type MailDomain, type ObjectMeta } from '../../../crds/src/index.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export function ownerReference(kind: Kind, meta: ObjectMeta): OwnerReference {
  if (!meta.uid) throw new Error(`${kind} ${meta.name} has no uid; children need an owner read from the API server`);
  return { apiVersion, kind, name: meta.name, uid: meta.uid, controller: true, blockOwnerDeletion: true };
}

export const managedByLabel = { 'app.kubernetes.io/managed-by': 'stafette-operator' } as const;
export const domainLabel = 'stafette.dev/maildomain';

/** The metadata of an object the operator writes. */
export type ChildMetadata = {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** Set by the API server. */
  generation?: number;
};

/** A child of a MailDomain: in its namespace, labelled with its name, owned by it. */
export function domainChildMetadata(domain: MailDomain, name: string): ChildMetadata & { ownerReferences: OwnerReference[] } {
  return {
    name,
    namespace: domain.metadata.namespace,
    labels: { ...managedByLabel, [domainLabel]: domain.metadata.name },
    ownerReferences: [ownerReference('MailDomain', domain.metadata)],
  };
}
