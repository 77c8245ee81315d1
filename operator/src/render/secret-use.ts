// Which Secrets a resource may use (docs/trust-model.md "Secrets and validation"). A Secret
// reference is a request to the operator to read a Secret and hand its value to the MTA, which
// may send it to a host the resource's author chose; so only a Secret its owner marked for that
// use (label stafette.dev/secret-use) is read, and a few are never read for anyone, marked or not.
import { secretUseLabel, type SecretUse } from '../../../crds/src/index.ts';
import { domainLabel, managedByLabel } from '../children/owner.ts';
import type { SecretObject } from './input.ts';

const serviceAccountTokenType = 'kubernetes.io/service-account-token';

/** Why `secret` may not be used for `use`, or null when it may. */
export function secretUseRefusal(secret: SecretObject, use: SecretUse): string | null {
  const labels = secret.metadata.labels ?? {};
  const name = secret.metadata.name;
  if (secret.type === serviceAccountTokenType) return `Secret ${name} is a service-account token, which no resource may use`;
  if (labels[domainLabel] !== undefined) return `Secret ${name} holds a DKIM key of the operator, which no resource may use`;
  const [managedByKey, managedByValue] = Object.entries(managedByLabel)[0] as [string, string];
  if (labels[managedByKey] === managedByValue) return `Secret ${name} is one of the operator's own (the bundle, the password index), which no resource may use`;
  const marked = labels[secretUseLabel];
  if (marked !== use) {
    return `Secret ${name} is ${marked === undefined ? 'not marked' : `marked for ${marked}, not`} for this use: label it ${secretUseLabel}=${use} to let this resource read it`;
  }
  return null;
}
