// Generated from crds/*.yaml by `npm run gen:types`. Do not edit by hand:
// change the CRD YAML and regenerate; crds.test.ts fails when this file drifts.

import type { ObjectMeta } from '../names.ts';

/** The desired state of the mail domain. */
export type MailDomainSpec = {
  /**
   * The domain mail is received and sent for, as a lowercase DNS name (write internationalised names
   * in their xn-- form). Cannot be changed; create a new MailDomain instead.
   */
  domain: string;
  /**
   * The host name of the MTA for this domain: the EHLO name of outgoing mail, the target of the MX
   * record and the name on the TLS certificate. Defaults to mx.<domain>.
   */
  hostname?: string;
  /** How outgoing mail for the domain is signed with DKIM. */
  dkim?: {
    /**
     * The DKIM selector (the label before ._domainkey). With algorithm "both", the selectors are
     * <selector>-rsa and <selector>-ed25519.
     */
    selector?: string;
    /**
     * The key type: rsa-2048 (understood by every verifier), ed25519 (RFC 8463, short records, not yet
     * verified everywhere) or both (two signatures).
     */
    algorithm?: "rsa-2048" | "ed25519" | "both";
    /**
     * Rotate the key after this long, as a number of days (90d), hours (2160h) or minutes. Unset means
     * the key is kept until the selector changes.
     */
    rotateAfter?: string;
  };
  /**
   * Where the TLS certificate for the hostname comes from: a cert-manager issuer (the operator
   * creates the Certificate) or an existing Secret of type kubernetes.io/tls. Unset means STARTTLS
   * uses the MTA's default certificate.
   */
  tls?: {
    /** The cert-manager Issuer or ClusterIssuer that signs the certificate. */
    issuerRef?: {
      /** The name of the issuer. */
      name: string;
      /** Issuer (in this namespace) or ClusterIssuer. */
      kind?: "Issuer" | "ClusterIssuer";
      /** The API group of the issuer; cert-manager.io unless an external issuer is used. */
      group?: string;
    };
    /**
     * The Secret (type kubernetes.io/tls, keys tls.crt and tls.key) holding the certificate. With
     * issuerRef, the Secret cert-manager writes; defaults then to <MailDomain name>-tls.
     */
    secretName?: string;
  };
  /** How mail arriving for the domain is accepted. */
  inbound?: {
    /**
     * An address that receives mail for recipients of this domain that no Mailbox or alias claims.
     * Unset means such mail is refused at RCPT with 550 5.1.1.
     */
    catchAll?: string;
    /**
     * Addresses of this domain that deliver to other addresses (distribution lists, postmaster,
     * abuse). Each target must be a known address of a MailDomain or an address of another domain,
     * which is then forwarded.
     */
    aliases?: Array<{
      /** The local part of the alias (postmaster for postmaster@<domain>). */
      name: string;
      /** The addresses mail to the alias is delivered to. */
      to: string[];
    }>;
    /**
     * The largest message accepted for the domain, as a quantity (25Mi) or bytes; as a number of bytes
     * from 1024 to 104857600 (100Mi); a larger quantity string is clamped to 100Mi by the operator,
     * with a warning. A value the MTA would still refuse is reported on the MailDomain (reason
     * BundleCheckFailed) and the domain is left out of the MTA configuration until it is fixed.
     */
    maxMessageSize?: number | string;
    /** The most recipients one message may have; more get 452 4.5.3 at RCPT. */
    maxRecipients?: number;
    /**
     * What happens to incoming mail that fails DMARC: enforce applies the sender's published policy
     * (reject or quarantine); report only records the result in an Authentication-Results header.
     */
    dmarc?: "enforce" | "report";
  };
  /** How mail sent from the domain leaves. */
  outbound?: {
    /**
     * A Relay in this namespace that carries all mail sent from the domain. Unset means the Relays'
     * own match rules apply, or direct delivery to the recipient's MX hosts.
     */
    relayRef?: {
      /** The name of the Relay. */
      name: string;
    };
  };
  /** The DNS records of the domain and whether the operator publishes them. */
  dns?: {
    /**
     * none lists the records in status for you to publish; externalDNS also writes an ExternalDNS
     * DNSEndpoint with them.
     */
    publish?: "none" | "externalDNS";
    /** The TTL in seconds of the records published through ExternalDNS. */
    ttl?: number;
    /** The SPF record (TXT at the domain). */
    spf?: {
      /**
       * SPF mechanisms placed after "mx", such as ip4:192.0.2.10 or include:_spf.example.net for a
       * relay's servers.
       */
      mechanisms?: string[];
      /** What receivers do with mail from other hosts (-all, ~all or ?all). */
      policy?: "fail" | "softfail" | "neutral";
    };
    /** The DMARC record (TXT at _dmarc.<domain>). */
    dmarc?: {
      /** What receivers do with mail that fails DMARC. */
      policy?: "none" | "quarantine" | "reject";
      /** Addresses that receive aggregate reports (rua). Defaults to postmaster@<domain>. */
      reportTo?: string[];
      /** The percentage of failing mail the policy applies to. */
      percent?: number;
    };
    /** MTA-STS (RFC 8461), asking senders to insist on TLS to the MX host. */
    mtaSts?: {
      /**
       * none publishes nothing; testing reports failures but still delivers; enforce refuses delivery
       * without valid TLS.
       */
      mode?: "none" | "testing" | "enforce";
      /** How long senders cache the policy. */
      maxAgeSeconds?: number;
    };
    /** SMTP TLS reporting (RFC 8460, TXT at _smtp._tls.<domain>). */
    tlsRpt?: {
      /** Addresses that receive TLS reports. Defaults to postmaster@<domain>. */
      reportTo?: string[];
    };
  };
};

/** MailDomainSpec after the API server's defaulting: every field with a default is present. */
export type MailDomainSpecResolved = {
  /**
   * The domain mail is received and sent for, as a lowercase DNS name (write internationalised names
   * in their xn-- form). Cannot be changed; create a new MailDomain instead.
   */
  domain: string;
  /**
   * The host name of the MTA for this domain: the EHLO name of outgoing mail, the target of the MX
   * record and the name on the TLS certificate. Defaults to mx.<domain>.
   */
  hostname?: string;
  /** How outgoing mail for the domain is signed with DKIM. */
  dkim: {
    /**
     * The DKIM selector (the label before ._domainkey). With algorithm "both", the selectors are
     * <selector>-rsa and <selector>-ed25519.
     */
    selector: string;
    /**
     * The key type: rsa-2048 (understood by every verifier), ed25519 (RFC 8463, short records, not yet
     * verified everywhere) or both (two signatures).
     */
    algorithm: "rsa-2048" | "ed25519" | "both";
    /**
     * Rotate the key after this long, as a number of days (90d), hours (2160h) or minutes. Unset means
     * the key is kept until the selector changes.
     */
    rotateAfter?: string;
  };
  /**
   * Where the TLS certificate for the hostname comes from: a cert-manager issuer (the operator
   * creates the Certificate) or an existing Secret of type kubernetes.io/tls. Unset means STARTTLS
   * uses the MTA's default certificate.
   */
  tls?: {
    /** The cert-manager Issuer or ClusterIssuer that signs the certificate. */
    issuerRef?: {
      /** The name of the issuer. */
      name: string;
      /** Issuer (in this namespace) or ClusterIssuer. */
      kind: "Issuer" | "ClusterIssuer";
      /** The API group of the issuer; cert-manager.io unless an external issuer is used. */
      group: string;
    };
    /**
     * The Secret (type kubernetes.io/tls, keys tls.crt and tls.key) holding the certificate. With
     * issuerRef, the Secret cert-manager writes; defaults then to <MailDomain name>-tls.
     */
    secretName?: string;
  };
  /** How mail arriving for the domain is accepted. */
  inbound: {
    /**
     * An address that receives mail for recipients of this domain that no Mailbox or alias claims.
     * Unset means such mail is refused at RCPT with 550 5.1.1.
     */
    catchAll?: string;
    /**
     * Addresses of this domain that deliver to other addresses (distribution lists, postmaster,
     * abuse). Each target must be a known address of a MailDomain or an address of another domain,
     * which is then forwarded.
     */
    aliases?: Array<{
      /** The local part of the alias (postmaster for postmaster@<domain>). */
      name: string;
      /** The addresses mail to the alias is delivered to. */
      to: string[];
    }>;
    /**
     * The largest message accepted for the domain, as a quantity (25Mi) or bytes; as a number of bytes
     * from 1024 to 104857600 (100Mi); a larger quantity string is clamped to 100Mi by the operator,
     * with a warning. A value the MTA would still refuse is reported on the MailDomain (reason
     * BundleCheckFailed) and the domain is left out of the MTA configuration until it is fixed.
     */
    maxMessageSize: number | string;
    /** The most recipients one message may have; more get 452 4.5.3 at RCPT. */
    maxRecipients: number;
    /**
     * What happens to incoming mail that fails DMARC: enforce applies the sender's published policy
     * (reject or quarantine); report only records the result in an Authentication-Results header.
     */
    dmarc: "enforce" | "report";
  };
  /** How mail sent from the domain leaves. */
  outbound?: {
    /**
     * A Relay in this namespace that carries all mail sent from the domain. Unset means the Relays'
     * own match rules apply, or direct delivery to the recipient's MX hosts.
     */
    relayRef?: {
      /** The name of the Relay. */
      name: string;
    };
  };
  /** The DNS records of the domain and whether the operator publishes them. */
  dns: {
    /**
     * none lists the records in status for you to publish; externalDNS also writes an ExternalDNS
     * DNSEndpoint with them.
     */
    publish: "none" | "externalDNS";
    /** The TTL in seconds of the records published through ExternalDNS. */
    ttl: number;
    /** The SPF record (TXT at the domain). */
    spf: {
      /**
       * SPF mechanisms placed after "mx", such as ip4:192.0.2.10 or include:_spf.example.net for a
       * relay's servers.
       */
      mechanisms?: string[];
      /** What receivers do with mail from other hosts (-all, ~all or ?all). */
      policy: "fail" | "softfail" | "neutral";
    };
    /** The DMARC record (TXT at _dmarc.<domain>). */
    dmarc: {
      /** What receivers do with mail that fails DMARC. */
      policy: "none" | "quarantine" | "reject";
      /** Addresses that receive aggregate reports (rua). Defaults to postmaster@<domain>. */
      reportTo?: string[];
      /** The percentage of failing mail the policy applies to. */
      percent: number;
    };
    /** MTA-STS (RFC 8461), asking senders to insist on TLS to the MX host. */
    mtaSts: {
      /**
       * none publishes nothing; testing reports failures but still delivers; enforce refuses delivery
       * without valid TLS.
       */
      mode: "none" | "testing" | "enforce";
      /** How long senders cache the policy. */
      maxAgeSeconds: number;
    };
    /** SMTP TLS reporting (RFC 8460, TXT at _smtp._tls.<domain>). */
    tlsRpt: {
      /** Addresses that receive TLS reports. Defaults to postmaster@<domain>. */
      reportTo?: string[];
    };
  };
};

/** The observed state of the mail domain, written by the operator. */
export type MailDomainStatus = {
  /**
   * The metadata.generation this status was computed from; -1 until the operator has seen the
   * resource.
   */
  observedGeneration?: number;
  /**
   * Ready plus DKIMKeyReady, CertificateReady and DNSPublished, each True, False or Unknown with a
   * CamelCase reason and a message; Reconciling (work under way) or Stalled (it cannot finish
   * without a change) while Ready is False.
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
  /** The DKIM keys of the domain. */
  dkim?: {
    /** The selectors outgoing mail is signed with, comma-separated. */
    signingSelectors?: string;
    /** Every selector with a key, including ones published ahead of rotation or being retired. */
    selectors?: Array<{
      /** The selector. */
      name: string;
      /** rsa-2048 or ed25519. */
      algorithm: string;
      /** The Secret holding the private key. */
      secretName: string;
      /**
       * Published (the DNS record is to be published, not signing yet), Signing, or Retiring (kept in
       * DNS until mail signed with it is delivered).
       */
      state: string;
      /** When the key was generated. */
      createdAt?: string;
    }>;
  };
  /** Exactly the records to publish in DNS for the domain. */
  dnsRecords?: Array<{
    /** The fully qualified record name. */
    name: string;
    /** The record type (MX, TXT, CNAME). */
    type: string;
    /**
     * The record data in zone-file form; long TXT values are split into quoted strings of at most 255
     * bytes.
     */
    value: string;
    /** What the record is for (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT). */
    purpose?: string;
  }>;
};

/**
 * MailDomain is a domain Stafette receives and sends mail for. The operator generates its DKIM
 * keys, requests its TLS certificate, computes the DNS records to publish and adds the domain to
 * the MTA configuration bundle.
 */
export interface MailDomain {
  apiVersion: 'stafette.dev/v1alpha1';
  kind: 'MailDomain';
  metadata: ObjectMeta;
  spec: MailDomainSpec;
  status?: MailDomainStatus;
}
