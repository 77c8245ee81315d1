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
} as const;
export type IssueReason = (typeof issueReasons)[keyof typeof issueReasons];

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
