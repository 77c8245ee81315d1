// Generated from crds/*.yaml by `npm run gen:types`. Do not edit by hand:
// change the CRD YAML and regenerate; crds.test.ts fails when this file drifts.

import type { ObjectMeta } from '../names.ts';

/** The desired state of the mailbox. */
export type MailboxSpec = {
  /**
   * The address, local-part@domain; the domain must be the domain of a MailDomain in this namespace.
   * Mail to local-part+tag@domain arrives here too. Cannot be changed; create a new Mailbox instead.
   */
  address: string;
  /**
   * Further addresses, in domains of this namespace's MailDomains, whose mail is delivered to this
   * mailbox.
   */
  aliases?: string[];
  /**
   * The Secret key holding the password for SMTP AUTH on the submission ports, either in plain text
   * (the operator stores only a scrypt hash of it) or already hashed ($scrypt$...). Unset means the
   * mailbox cannot log in.
   */
  passwordSecretRef?: {
    /** The name of a Secret in this namespace. */
    name: string;
    /** The key in the Secret. */
    key?: string;
  };
  /**
   * Addresses this login may use as envelope sender and From, besides its own address and aliases;
   * @example.com allows any address of that domain.
   */
  sendAs?: string[];
  /**
   * Where mail for the mailbox goes: exactly one of lmtp, maildir, forward or webhook. Unset means
   * the MTA's default local delivery.
   */
  delivery?: {
    /** Deliver over LMTP to a mail store such as Dovecot. */
    lmtp?: {
      /** The LMTP server's host name or IP address. */
      host: string;
      /** The LMTP port. */
      port?: number;
    };
    /** Write to a maildir on the MTA's filesystem (single-node and local runs). */
    maildir?: {
      /** The maildir's absolute path; tmp/, new/ and cur/ are created in it. */
      path: string;
    };
    /** Forward every message to other addresses. */
    forward?: {
      /** The addresses to forward to. */
      to: string[];
      /** Also deliver to the MTA's default local delivery. */
      keepCopy?: boolean;
    };
    /**
     * POST the raw message and its envelope to a URL, signed with an HMAC-SHA256 key from a Secret. A
     * non-2xx answer is retried later.
     */
    webhook?: {
      /** An https URL with a host name or IP address (webhooks are https only, docs/trust-model.md §3). */
      url: string;
      /** The Secret key holding the HMAC key. */
      secretRef: {
        /** The name of a Secret in this namespace. */
        name: string;
        /** The key in the Secret. */
        key?: string;
      };
    };
  };
};

/** MailboxSpec after the API server's defaulting: every field with a default is present. */
export type MailboxSpecResolved = {
  /**
   * The address, local-part@domain; the domain must be the domain of a MailDomain in this namespace.
   * Mail to local-part+tag@domain arrives here too. Cannot be changed; create a new Mailbox instead.
   */
  address: string;
  /**
   * Further addresses, in domains of this namespace's MailDomains, whose mail is delivered to this
   * mailbox.
   */
  aliases?: string[];
  /**
   * The Secret key holding the password for SMTP AUTH on the submission ports, either in plain text
   * (the operator stores only a scrypt hash of it) or already hashed ($scrypt$...). Unset means the
   * mailbox cannot log in.
   */
  passwordSecretRef?: {
    /** The name of a Secret in this namespace. */
    name: string;
    /** The key in the Secret. */
    key: string;
  };
  /**
   * Addresses this login may use as envelope sender and From, besides its own address and aliases;
   * @example.com allows any address of that domain.
   */
  sendAs?: string[];
  /**
   * Where mail for the mailbox goes: exactly one of lmtp, maildir, forward or webhook. Unset means
   * the MTA's default local delivery.
   */
  delivery?: {
    /** Deliver over LMTP to a mail store such as Dovecot. */
    lmtp?: {
      /** The LMTP server's host name or IP address. */
      host: string;
      /** The LMTP port. */
      port: number;
    };
    /** Write to a maildir on the MTA's filesystem (single-node and local runs). */
    maildir?: {
      /** The maildir's absolute path; tmp/, new/ and cur/ are created in it. */
      path: string;
    };
    /** Forward every message to other addresses. */
    forward?: {
      /** The addresses to forward to. */
      to: string[];
      /** Also deliver to the MTA's default local delivery. */
      keepCopy: boolean;
    };
    /**
     * POST the raw message and its envelope to a URL, signed with an HMAC-SHA256 key from a Secret. A
     * non-2xx answer is retried later.
     */
    webhook?: {
      /** An https URL with a host name or IP address (webhooks are https only, docs/trust-model.md §3). */
      url: string;
      /** The Secret key holding the HMAC key. */
      secretRef: {
        /** The name of a Secret in this namespace. */
        name: string;
        /** The key in the Secret. */
        key: string;
      };
    };
  };
};

/** The observed state of the mailbox, written by the operator. */
export type MailboxStatus = {
  /**
   * The metadata.generation this status was computed from; -1 until the operator has seen the
   * resource.
   */
  observedGeneration?: number;
  /**
   * Ready, and Stalled while a problem found with its references (domain, password Secret,
   * conflicts) keeps it out of the MTA configuration.
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
 * Mailbox is an address that receives mail and may log in on the submission port to send it. Its
 * MailDomain must exist in the same namespace.
 */
export interface Mailbox {
  apiVersion: 'stafette.dev/v1alpha1';
  kind: 'Mailbox';
  metadata: ObjectMeta;
  spec: MailboxSpec;
  status?: MailboxStatus;
}
