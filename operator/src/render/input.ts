// The inputs of render(): the resources as the API server (or a manifest directory)
// holds them, the Secrets they reference, and the DKIM keys that exist already.
import type { DkimKeyState, MailDomain, Mailbox, Relay } from '../../../crds/src/index.ts';
import type { DeliveryTarget, DkimAlgorithm } from '../../../bundle/schema.ts';
import type { DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';
import type { ObjectLimits } from './bundle-guard.ts';
import type { DomainOwnership, IssuerRule } from './ownership.ts';

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind?: string; name?: string }[];
  };
  type?: string;
  /** Base64 values, as the API server returns them. */
  data?: Record<string, string>;
  /** Plain values, as manifests are often written. */
  stringData?: Record<string, string>;
}

export interface DkimKeyMaterial {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  /** Base64 of the DER SubjectPublicKeyInfo (RSA) or the raw 32-byte key (Ed25519), as the p= tag wants it. */
  publicKey: string;
  /**
   * Where the key is in its rotation, when the operator manages it: Published (in DNS,
   * not signing yet), Signing, or Retiring (still in DNS, no longer signing). Keys
   * without a state (offline renders) sign when their selector is one the spec names.
   */
  state?: DkimKeyState;
}

export interface RenderInput {
  domains: MailDomain[];
  mailboxes: Mailbox[];
  relays: Relay[];
  secrets: SecretObject[];
  dkimKeys: DkimKeyMaterial[];
  /**
   * Turns a mailbox's plain-text password into the hash stored in the bundle. Injected
   * because hashing is salted (random) and costly; callers keep earlier hashes stable.
   * `source` names the password Secret's version (uid/resourceVersion), when it has one.
   */
  hashPassword: (address: string, password: string, source?: string) => string;
  /**
   * Where a Mailbox without `delivery` delivers: by default `local`, the MTA's own
   * maildirs (a single-node or local run); null when there is no such target (a pod on a
   * read-only root filesystem), so those Mailboxes are reported, not silently queued.
   */
  defaultDelivery?: DeliveryTarget | null;
  /**
   * Who serves https://mta-sts.<domain>/.well-known/mta-sts.txt: the MTA's policy listener
   * (default; then the domain's certificate must cover mta-sts.<domain>), an Ingress in front
   * of it (which has a certificate of its own), or nobody (no MTA-STS records are published).
   */
  mtaStsServedBy?: MtaStsServer;
  /**
   * The platform's delivery-target allow-lists (Helm values deliveryTargets.*, operator flags
   * --allow-lmtp-host, --maildir-root, --webhook-allow-network); default
   * defaultDeliveryTargetPolicy (bundle/delivery-targets.ts). `defaultDelivery` is the admin's
   * own and always allowed.
   */
  deliveryTargets?: DeliveryTargetPolicy;
  /** The SRS secrets to put into the bundle, the signing one first (operator/src/srs/srs-keys.ts). */
  srsKeys?: string[];
  /**
   * The objects the bundle is written into (the operator's shards and the API server's
   * object size); when set, a resource whose part would overflow one is left out and
   * reported (render/bundle-guard.ts). Offline renders write plain files and set none.
   */
  objectLimits?: ObjectLimits;
  /** Which namespace may claim which domain (render/ownership.ts); none: every namespace any domain. */
  ownership?: DomainOwnership;
  /** The issuers tls.issuerRef may name (render/ownership.ts); null or none: any. */
  allowedIssuers?: readonly IssuerRule[] | null;
}

export type MtaStsServer = 'mta' | 'ingress' | 'none';

/** The value of one key of a Secret, from stringData or base64 data, or undefined. */
export function secretValue(secret: SecretObject | undefined, key: string): string | undefined {
  if (!secret) return undefined;
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** The Secret's uid and resourceVersion: which version of it a password hash was made from (says nothing about the password). */
export function secretVersion(secret: SecretObject): string | undefined {
  const { uid, resourceVersion } = secret.metadata;
  return uid && resourceVersion ? `${uid}/${resourceVersion}` : undefined;
}
