// The configuration bundle: the one contract between the operator (which renders it)
// and the MTA (which loads it). It is versioned by `apiVersion`; the MTA refuses a
// bundle of a version it does not know, so operator and MTA can be upgraded apart.
//
// The bundle has two parts. The config part (a ConfigMap, `bundle.json`) holds
// everything that is not secret. The secret part (a Secret, `secrets.json`) holds DKIM
// private keys, password hashes, relay credentials, webhook keys and TLS keys. Both
// parts carry the same `revision`, a content hash, so the MTA can tell a half-updated
// mount (one part new, one old) from a consistent pair.
//
// Addresses are stored normalised: lowercase, domains in their ASCII (xn--) form.
import { z } from 'zod';

export const bundleApiVersion = 'stafette.dev/bundle/v1';

const address = z
  .string()
  .min(3)
  .max(320)
  .regex(/^[^@\s]{1,64}@[a-z0-9.-]{1,253}$/, 'a normalised address local@domain');
const domainName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'a lowercase DNS name');
const source = z.strictObject({ namespace: z.string(), name: z.string() });

export const deliveryTargetSchema = z.discriminatedUnion('type', [
  /** The MTA's default local delivery (a maildir root in local runs). */
  z.strictObject({ type: z.literal('local') }),
  z.strictObject({ type: z.literal('lmtp'), host: z.string().min(1), port: z.int().min(1).max(65535) }),
  z.strictObject({ type: z.literal('maildir'), path: z.string().startsWith('/') }),
  z.strictObject({ type: z.literal('forward'), to: z.array(address).min(1), keepCopy: z.boolean() }),
  /** The HMAC key is in the secret part, under webhookKeys[<mailbox address>]. */
  z.strictObject({ type: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }) }),
]);

export const dkimAlgorithmSchema = z.enum(['rsa-sha256', 'ed25519-sha256']);

export const domainSchema = z.strictObject({
  domain: domainName,
  hostname: domainName,
  source,
  dkim: z.strictObject({
    /** Selectors outgoing mail is signed with; each has a key in the secret part. */
    signing: z.array(z.string()),
    /** Every selector with a key, including ones published ahead of signing or retiring. */
    selectors: z.array(z.strictObject({ selector: z.string(), algorithm: dkimAlgorithmSchema, publicKey: z.string() })),
  }),
  /** The TLS certificate for `hostname`, when the domain has one; its material is in the secret part. */
  tls: z.strictObject({ secretName: z.string() }).nullable(),
  inbound: z.strictObject({
    catchAll: address.nullable(),
    /** At most maxMessageSizeCap (the operator clamps; the MTA too). */
    maxMessageSize: z.int().positive(),
    maxRecipients: z.int().positive(),
    dmarc: z.enum(['enforce', 'report']),
  }),
  outbound: z.strictObject({ relay: z.string().nullable() }),
  /**
   * The MTA-STS policy the MTA serves at https://mta-sts.<domain>/.well-known/mta-sts.txt, when
   * it is published (RFC 8461 §3.2 text). Optional: bundles of earlier operators have none.
   */
  mtaSts: z
    .strictObject({
      policy: z
        .string()
        .min(1)
        .max(64 * 1024),
    })
    .nullable()
    .optional(),
});

export const mailboxSchema = z.strictObject({
  address,
  source,
  /** Whether the mailbox may log in on submission; its hash is in the secret part. */
  login: z.boolean(),
  /** Envelope senders this login may use besides its own address and aliases; '@domain' is a whole domain. */
  sendAs: z.array(z.string()),
  delivery: deliveryTargetSchema,
});

export const aliasSchema = z.strictObject({ address, to: z.array(address).min(1), source });

export const relaySchema = z.strictObject({
  /** namespace/name: unique across the bundle. */
  id: z.string(),
  source,
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
  tls: z.enum(['starttls', 'implicit', 'none']),
  /** Whether the relay's certificate must verify (system CAs plus the MTA's extra bundle); optional, default true. */
  verifyCertificate: z.boolean().optional(),
  /** Whether the relay needs AUTH; the credentials are in the secret part under relayCredentials[id]. */
  auth: z.boolean(),
  match: z.strictObject({
    default: z.boolean(),
    senderDomains: z.array(domainName),
    recipientDomains: z.array(domainName),
  }),
  limits: z.strictObject({ connections: z.int().positive(), messagesPerSecond: z.int().positive().nullable() }),
});

export const bundleSchema = z.strictObject({
  apiVersion: z.literal(bundleApiVersion),
  /** A hash of the rendered content, identical in both parts. */
  revision: z.string().min(1),
  domains: z.array(domainSchema),
  mailboxes: z.array(mailboxSchema),
  aliases: z.array(aliasSchema),
  relays: z.array(relaySchema),
});

export const bundleSecretsSchema = z.strictObject({
  apiVersion: z.literal(bundleApiVersion),
  revision: z.string().min(1),
  dkimKeys: z.array(z.strictObject({ domain: domainName, selector: z.string(), algorithm: dkimAlgorithmSchema, privateKeyPem: z.string() })),
  /** Mailbox address → password hash ($scrypt$...). */
  passwords: z.record(z.string(), z.string().startsWith('$')),
  /** Relay id → credentials. */
  relayCredentials: z.record(z.string(), z.strictObject({ username: z.string(), password: z.string() })),
  /** Mailbox address → webhook HMAC key. */
  webhookKeys: z.record(z.string(), z.string().min(1)),
  /** Secret namespace/name → certificate chain and key, PEM. */
  tlsCertificates: z.record(z.string(), z.strictObject({ certPem: z.string(), keyPem: z.string() })),
  /**
   * SRS secrets (mta/src/srs/): the first signs forwarded senders, every one verifies bounces,
   * so a rotated-out key keeps working for its grace period. Optional: earlier bundles have none
   * (then forwarded senders are not rewritten).
   */
  srsKeys: z.array(z.string().min(16)).optional(),
});

export type Bundle = z.infer<typeof bundleSchema>;
export type BundleSecrets = z.infer<typeof bundleSecretsSchema>;
export type BundleDomain = z.infer<typeof domainSchema>;
export type BundleMailbox = z.infer<typeof mailboxSchema>;
export type BundleAlias = z.infer<typeof aliasSchema>;
export type BundleRelay = z.infer<typeof relaySchema>;
export type DeliveryTarget = z.infer<typeof deliveryTargetSchema>;
export type DkimAlgorithm = z.infer<typeof dkimAlgorithmSchema>;

/**
 * Bounds of alias expansion (docs/reliability.md "Limits"): one address may stand for at most
 * maxTargets distinct mailboxes or remote addresses, through at most maxDepth alias steps.
 * The operator refuses aliases over them (AliasFanOut); the MTA refuses them with 550 5.4.6.
 */
export const aliasExpansionLimits = { maxTargets: 1_000, maxDepth: 10 } as const;

/** The largest maxMessageSize a domain may have: 100 MiB (the CRD's maximum; the operator and MTA clamp to it). */
export const maxMessageSizeCap = 104_857_600;
