// A DKIM key lives in an immutable Secret per selector, owned by its MailDomain:
// immutable because a key that is published in DNS must never change under the same
// selector; a new key always gets a new selector. The key's rotation state is kept in
// an annotation, since metadata stays writable on an immutable Secret.
import type { DkimKeyState, MailDomain } from '../../../crds/src/index.ts';
import type { DkimAlgorithm } from '../../../bundle/schema.ts';
import { keyMaterialOf } from '../dkim/keys.ts';
import type { DkimKeyMaterial, SecretObject } from '../render/input.ts';
import { secretValue } from '../render/input.ts';
import { domainChildMetadata, type ChildMetadata } from './owner.ts';

export const selectorLabel = 'stafette.dev/dkim-selector';
export const stateAnnotation = 'stafette.dev/dkim-state';
export const createdAnnotation = 'stafette.dev/created-at';
/** When a retiring key stopped signing; it is deleted a retention period later. */
export const retiringAnnotation = 'stafette.dev/retiring-since';

export type DkimSecret = {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ChildMetadata & { annotations: Record<string, string> };
  type: 'Opaque';
  immutable: true;
  data: { 'private.pem': string; domain: string; selector: string };
};

export function dkimSecretName(domain: MailDomain, selector: string): string {
  return `${domain.metadata.name}-dkim-${selector}`;
}

export function dkimSecret(domain: MailDomain, selector: string, privateKeyPem: string, state: DkimKeyState, now: Date): DkimSecret {
  const metadata = domainChildMetadata(domain, dkimSecretName(domain, selector));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...metadata,
      labels: { ...metadata.labels, [selectorLabel]: selector },
      annotations: { [stateAnnotation]: state, [createdAnnotation]: now.toISOString() },
    },
    type: 'Opaque',
    immutable: true,
    data: {
      'private.pem': Buffer.from(privateKeyPem).toString('base64'),
      domain: Buffer.from(domain.spec.domain).toString('base64'),
      selector: Buffer.from(selector).toString('base64'),
    },
  };
}

export interface StoredDkimKey extends DkimKeyMaterial {
  secretName: string;
  state: DkimKeyState;
  createdAt?: string;
}

/** The key held by a DKIM Secret, or null when it is not one or is damaged. */
export function dkimKeyFromSecret(secret: SecretObject & { metadata: { annotations?: Record<string, string> } }): StoredDkimKey | null {
  const privateKeyPem = secretValue(secret, 'private.pem');
  const domain = secretValue(secret, 'domain');
  const selector = secretValue(secret, 'selector');
  if (!privateKeyPem || !domain || !selector) return null;
  let material: { algorithm: DkimAlgorithm; publicKey: string };
  try {
    material = keyMaterialOf(privateKeyPem);
  } catch {
    return null;
  }
  return { domain, selector, ...material, privateKeyPem, ...dkimKeyStateOf(secret) };
}

/** What a DKIM Secret's metadata says of its key: its name, rotation state and age (the annotations may change, the key never). */
export function dkimKeyStateOf(secret: {
  metadata: { name: string; annotations?: Record<string, string> };
}): Pick<StoredDkimKey, 'secretName' | 'state' | 'createdAt'> {
  const state = secret.metadata.annotations?.[stateAnnotation];
  return {
    secretName: secret.metadata.name,
    state: state === 'Published' || state === 'Retiring' ? state : 'Signing',
    createdAt: secret.metadata.annotations?.[createdAnnotation],
  };
}
