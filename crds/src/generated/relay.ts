// Generated from crds/*.yaml by `npm run gen:types`. Do not edit by hand:
// change the CRD YAML and regenerate; crds.test.ts fails when this file drifts.

import type { ObjectMeta } from '../names.ts';

/** The desired state of the relay. */
export type RelaySpec = {
  /** The smart host's DNS name or IP address (also the name checked on its certificate). */
  host: string;
  /** The smart host's port; 587 for STARTTLS submission, 465 for implicit TLS. */
  port?: number;
  /**
   * starttls requires STARTTLS with a valid certificate; implicit connects with TLS from the start;
   * none sends in plain text and needs insecurePlaintext: true.
   */
  tls?: "starttls" | "implicit" | "none";
  /**
   * The explicit opt-in that tls: none requires, acknowledging that mail and credentials cross the
   * network unencrypted.
   */
  insecurePlaintext?: boolean;
  /**
   * Accept the relay's TLS certificate without verifying it (an internal relay with a self-signed
   * certificate). By default it must verify against the system CAs plus the MTA's extra CA bundle
   * (--tls-ca-file), which is the better fix.
   */
  insecureSkipVerify?: boolean;
  /** A Secret in this namespace with the SMTP AUTH credentials. Unset means no AUTH. */
  authSecretRef?: {
    /** The name of the Secret. */
    name: string;
    /** The key holding the user name. */
    usernameKey?: string;
    /** The key holding the password. */
    passwordKey?: string;
  };
  /**
   * Carry all outgoing mail that no other Relay matches. At most one Relay per namespace is the
   * default.
   */
  default?: boolean;
  /**
   * Which outgoing mail this relay carries: mail from any of senderDomains, or to any of
   * recipientDomains. A domain may appear in only one Relay.
   */
  match?: {
    /** Envelope sender domains whose mail goes through this relay. */
    senderDomains?: string[];
    /** Recipient domains whose mail goes through this relay. */
    recipientDomains?: string[];
  };
  /** Limits that protect the smart host, per MTA pod. */
  limits?: {
    /** The most simultaneous connections to the smart host. */
    connections?: number;
    /** The most messages per second sent through the smart host; unset means no limit. */
    messagesPerSecond?: number;
  };
};

/** RelaySpec after the API server's defaulting: every field with a default is present. */
export type RelaySpecResolved = {
  /** The smart host's DNS name or IP address (also the name checked on its certificate). */
  host: string;
  /** The smart host's port; 587 for STARTTLS submission, 465 for implicit TLS. */
  port: number;
  /**
   * starttls requires STARTTLS with a valid certificate; implicit connects with TLS from the start;
   * none sends in plain text and needs insecurePlaintext: true.
   */
  tls: "starttls" | "implicit" | "none";
  /**
   * The explicit opt-in that tls: none requires, acknowledging that mail and credentials cross the
   * network unencrypted.
   */
  insecurePlaintext: boolean;
  /**
   * Accept the relay's TLS certificate without verifying it (an internal relay with a self-signed
   * certificate). By default it must verify against the system CAs plus the MTA's extra CA bundle
   * (--tls-ca-file), which is the better fix.
   */
  insecureSkipVerify: boolean;
  /** A Secret in this namespace with the SMTP AUTH credentials. Unset means no AUTH. */
  authSecretRef?: {
    /** The name of the Secret. */
    name: string;
    /** The key holding the user name. */
    usernameKey: string;
    /** The key holding the password. */
    passwordKey: string;
  };
  /**
   * Carry all outgoing mail that no other Relay matches. At most one Relay per namespace is the
   * default.
   */
  default: boolean;
  /**
   * Which outgoing mail this relay carries: mail from any of senderDomains, or to any of
   * recipientDomains. A domain may appear in only one Relay.
   */
  match?: {
    /** Envelope sender domains whose mail goes through this relay. */
    senderDomains?: string[];
    /** Recipient domains whose mail goes through this relay. */
    recipientDomains?: string[];
  };
  /** Limits that protect the smart host, per MTA pod. */
  limits: {
    /** The most simultaneous connections to the smart host. */
    connections: number;
    /** The most messages per second sent through the smart host; unset means no limit. */
    messagesPerSecond?: number;
  };
};

/** The observed state of the relay, written by the operator. */
export type RelayStatus = {
  /**
   * The metadata.generation this status was computed from; -1 until the operator has seen the
   * resource.
   */
  observedGeneration?: number;
  /**
   * Ready, and Stalled while a problem found with its references (credentials Secret, overlapping
   * matches) keeps it out of the MTA configuration.
   */
  conditions?: Array<{
    /** The condition type, such as Ready. */
    type: string;
    /** True, False or Unknown. */
    status: "True" | "False" | "Unknown";
    /** The metadata.generation the condition was set from. */
    observedGeneration?: number;
    /** When the status last changed. */
    lastTransitionTime: string;
    /** A CamelCase reason for the status. */
    reason: string;
    /** A human-readable explanation. */
    message: string;
  }>;
};

/**
 * Relay is an upstream smart host that carries outgoing mail instead of direct delivery to the
 * recipients' MX hosts, for the senders or recipients it matches.
 */
export interface Relay {
  apiVersion: 'stafette.dev/v1alpha1';
  kind: 'Relay';
  metadata: ObjectMeta;
  spec: RelaySpec;
  status?: RelayStatus;
}
