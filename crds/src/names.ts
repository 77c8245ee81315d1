// The names of the Stafette API: group, version, kinds, condition types and reasons.
// Everything that talks about the API (render, operator, CLI, tests) imports them from here.

export const group = 'stafette.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export const kinds = ['MailDomain', 'Mailbox', 'Relay'] as const;
export type Kind = (typeof kinds)[number];

/** The CRD file (in crds/) and the plural resource name of each kind. */
export const crdFiles: Record<Kind, { file: string; plural: string }> = {
  MailDomain: { file: 'maildomains.yaml', plural: 'maildomains' },
  Mailbox: { file: 'mailboxes.yaml', plural: 'mailboxes' },
  Relay: { file: 'relays.yaml', plural: 'relays' },
};

/** The subset of metav1.ObjectMeta Stafette reads and writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** metav1.Condition, as every Stafette resource reports it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * Where a DKIM key is in its rotation, as MailDomain status.dkim.selectors[].state reports
 * it: Published (in DNS, not signing yet), Signing, or Retiring (still in DNS, no longer signing).
 */
export type DkimKeyState = 'Published' | 'Signing' | 'Retiring';

/**
 * Ready, Reconciling and Stalled on every kind; the other three on MailDomains. Reconciling
 * and Stalled are kstatus's "abnormal-true" conditions (sigs.k8s.io/cli-utils, which Flux and
 * kpt judge health with): present, True, only while Ready is False, and never both.
 */
export const conditionTypes = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  dkimKeyReady: 'DKIMKeyReady',
  certificateReady: 'CertificateReady',
  dnsPublished: 'DNSPublished',
} as const;
export type ConditionType = (typeof conditionTypes)[keyof typeof conditionTypes];

/**
 * What render() finds wrong with a resource as written, reported on the field at fault.
 * An error's reason is also the reason of the resource's Ready=False.
 */
export const issueReasons = {
  invalidSpec: 'InvalidSpec',
  domainConflict: 'DomainConflict',
  domainNotFound: 'DomainNotFound',
  addressConflict: 'AddressConflict',
  invalidAddress: 'InvalidAddress',
  passwordSecretNotFound: 'PasswordSecretNotFound',
  passwordKeyNotFound: 'PasswordKeyNotFound',
  /** A pre-hashed password that is not scrypt of the platform's one cost (bundle/password-hash.ts). */
  passwordHashNotAccepted: 'PasswordHashNotAccepted',
  /** An LMTP host, maildir path or webhook URL outside the platform's allow-lists (bundle/delivery-targets.ts). */
  deliveryTargetNotAllowed: 'DeliveryTargetNotAllowed',
  webhookSecretNotFound: 'WebhookSecretNotFound',
  noDeliveryTarget: 'NoDeliveryTarget',
  aliasTargetNotFound: 'AliasTargetNotFound',
  aliasLoop: 'AliasLoop',
  aliasFanOut: 'AliasFanOut',
  catchAllTargetNotFound: 'CatchAllTargetNotFound',
  forwardTargetNotFound: 'ForwardTargetNotFound',
  relayNotFound: 'RelayNotFound',
  relayConflict: 'RelayConflict',
  senderDomainNotOwned: 'SenderDomainNotOwned',
  relayCredentialsNotFound: 'RelayCredentialsNotFound',
  dkimKeyMissing: 'DKIMKeyMissing',
  postmasterMissing: 'PostmasterMissing',
  mtaStsNotServed: 'MtaStsNotServed',
  /**
   * The resource passes the CRD but its rendered part fails the MTA's own bundle check
   * (bundle/check.ts) or would overflow a bundle object; it is left out so the bundle every
   * MTA loads stays valid (operator/src/render/bundle-guard.ts). The message names the field.
   */
  bundleCheckFailed: 'BundleCheckFailed',
  /**
   * A Secret reference names a Secret that is not marked for that use (label
   * stafette.dev/secret-use), or one no resource may use: a service-account token, a DKIM key,
   * the bundle or another of the operator's own (docs/trust-model.md). Nothing of it is read.
   */
  secretNotMarked: 'SecretNotMarked',
  /** The namespace may not claim the domain yet: not on the admin's allow-list, no DNS challenge seen (docs/trust-model.md §6). */
  domainNotVerified: 'DomainNotVerified',
  /** The domain is under another namespace's domain, which has not delegated it (docs/trust-model.md §6). */
  subdomainNotDelegated: 'SubdomainNotDelegated',
  /** spec.hostname is neither the domain nor under it. */
  hostnameOutsideDomain: 'HostnameOutsideDomain',
  /** spec.tls.issuerRef names an issuer the admin has not allowed. */
  issuerNotAllowed: 'IssuerNotAllowed',
  /** spec.tls.secretName names an existing Secret this MailDomain does not own. */
  tlsSecretNotOwned: 'TLSSecretNotOwned',
} as const;
export type IssueReason = (typeof issueReasons)[keyof typeof issueReasons];

/**
 * The label a tenant puts on a Secret to let one kind of reference use it (docs/trust-model.md
 * "Secrets and validation"): Relay.authSecretRef needs relay-auth, a webhook's secretRef
 * webhook, passwordSecretRef password, MailDomain tls.secretName tls (the operator asks
 * cert-manager to put it on the Secrets it issues). A Secret without it is never read for a
 * resource, and the operator's Secret informer does not even cache it.
 */
export const secretUseLabel = 'stafette.dev/secret-use';
export const secretUses = { relayAuth: 'relay-auth', webhook: 'webhook', password: 'password', tls: 'tls' } as const;
export type SecretUse = (typeof secretUses)[keyof typeof secretUses];

/** The reasons of the conditions, besides the issue reasons above. */
export const reasons = {
  // Ready
  /** A Mailbox or Relay in the bundle. */
  configured: 'Configured',
  /** A MailDomain whose mail is received and signed. */
  serving: 'Serving',
  /** Not ready for a reason no issue names. */
  invalid: 'Invalid',
  dkimKeyPending: 'DKIMKeyPending',
  // DKIMKeyReady
  keyReady: 'KeyReady',
  keyPending: 'KeyPending',
  // CertificateReady (a False one is also the domain's Ready reason)
  defaultCertificate: 'DefaultCertificate',
  secretFound: 'SecretFound',
  secretNotFound: 'SecretNotFound',
  certManagerNotInstalled: 'CertManagerNotInstalled',
  issuing: 'Issuing',
  /** cert-manager gave up on this attempt (its Certificate's Issuing=False); it retries later. */
  issuanceFailed: 'IssuanceFailed',
  issued: 'Issued',
  // DNSPublished
  publishedByHand: 'PublishedByHand',
  externalDnsNotInstalled: 'ExternalDNSNotInstalled',
  notRendered: 'NotRendered',
  publishing: 'Publishing',
  published: 'Published',
  // CertificateReady and DNSPublished
  applyFailed: 'ApplyFailed',
} as const;

/**
 * The annotation on a MailDomain by which its namespace lets other namespaces claim domains
 * under its domain: a comma-separated list of namespaces, or "*" for any (docs/trust-model.md §6).
 */
export const delegateSubdomainsAnnotation = 'stafette.dev/delegate-subdomains-to';

/** The DNS name whose TXT record proves a namespace may claim a domain (docs/trust-model.md §6). */
export const domainChallengeLabel = '_stafette-challenge';

/** The Events the operator records: each reason with the action it reports. */
export const events = {
  dkimKeyGenerated: { reason: 'DKIMKeyGenerated', action: 'GenerateKey' },
  dkimKeyRotated: { reason: 'DKIMKeyRotated', action: 'RotateKey' },
} as const;

/**
 * The action of the Warning Events about a resource that is Stalled or whose child could not
 * be written; their reason is the condition's reason (DomainNotFound, ApplyFailed, ...).
 */
export const warningEventAction = 'Reconcile';
