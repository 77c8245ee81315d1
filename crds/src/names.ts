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

export const conditionTypes = {
  ready: 'Ready',
  dkimKeyReady: 'DKIMKeyReady',
  certificateReady: 'CertificateReady',
  dnsPublished: 'DNSPublished',
} as const;
