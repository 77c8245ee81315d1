// DKIM signing of outgoing mail (RFC 6376; Ed25519 per RFC 8463) with the bundle's keys,
// through mailauth's signer.
//
// Which domain signs: the domain of the From header when it is one of our domains with
// signing selectors (what DMARC aligns with); else the envelope sender's domain when it is;
// else the message goes out unsigned. Every selector in domains[].dkim.signing signs (an RSA
// and an Ed25519 signature side by side during a rotation or with `both`), with the private
// key from the secret part. A candidate domain signs only when `mayUse` allows it: for a
// submission, a domain the login may use (sign-policy.ts signingDomainRule, docs/trust-model.md). Relaxed/relaxed canonicalisation; the header list is mailauth's
// default.
//
// The From domain is only used to pick a key; it never builds an envelope (docs/reliability.md §2 F9).
import type { Readable } from 'node:stream';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { normalizeDomain } from '../../../bundle/address.ts';
import type { Bundle, BundleSecrets } from '../../../bundle/schema.ts';
import { fromHeaderDomain } from './from-domain.ts';

export interface DkimSignResult {
  /** The message with DKIM-Signature headers prepended (or as it was, unsigned). */
  readonly message: Buffer;
  /** The signing domain, or null when nothing was signed. */
  readonly domain: string | null;
  readonly selectors: readonly string[];
  /** Why a selector could not sign (a bad key), for the log; the message still goes out. */
  readonly errors: readonly string[];
}

export interface DkimKeyChoice {
  readonly domain: string;
  readonly keys: readonly { readonly selector: string; readonly privateKeyPem: string; readonly algorithm: string }[];
}

/** The domain and keys to sign with, or null (pure; see the rules above). */
export function chooseDkimKeys(
  bundle: Bundle,
  secrets: BundleSecrets,
  envelopeSender: string,
  message: Buffer,
  mayUse: (domain: string) => boolean = () => true,
): DkimKeyChoice | null {
  const candidates = [
    fromHeaderDomain(message),
    envelopeSender.includes('@') ? normalizeDomain(envelopeSender.slice(envelopeSender.lastIndexOf('@') + 1)) : null,
  ];
  for (const domain of candidates) {
    if (!domain || !mayUse(domain)) continue;
    const ours = bundle.domains.find((d) => d.domain === domain);
    if (!ours || ours.dkim.signing.length === 0) continue;
    const keys = ours.dkim.signing.flatMap((selector) => {
      const key = secrets.dkimKeys.find((k) => k.domain === domain && k.selector === selector);
      return key ? [{ selector, privateKeyPem: key.privateKeyPem, algorithm: key.algorithm }] : [];
    });
    if (keys.length > 0) return { domain, keys };
  }
  return null;
}

/** Signs `message` (CRLF line ends expected) for the chosen domain, if any. */
export async function signMessage(
  bundle: Bundle,
  secrets: BundleSecrets,
  envelopeSender: string,
  message: Buffer,
  options: { readonly now?: Date; readonly mayUse?: (domain: string) => boolean } = {},
): Promise<DkimSignResult> {
  const signed = await signatureHeaders(bundle, secrets, envelopeSender, message, () => message, options);
  if (!signed.signatures) return { message, domain: null, selectors: [], errors: signed.errors };
  return {
    message: Buffer.concat([Buffer.from(signed.signatures, 'utf8'), message]),
    domain: signed.domain,
    selectors: signed.selectors,
    errors: signed.errors,
  };
}

export interface DkimSignatures {
  /** The DKIM-Signature header lines to put in front of the message ('' when none). */
  readonly signatures: string;
  readonly domain: string | null;
  readonly selectors: readonly string[];
  readonly errors: readonly string[];
}

/**
 * The signatures for a message that is read, not held (a large stored body, delivered as it
 * is read: docs/reliability.md "Limits"): `header` (its header section, CRLF) picks the key,
 * and mailauth's signer reads the message from `open()` (a stream, CRLF line ends) for the
 * body hash; the caller sends the signatures and then the message read a second time.
 */
export async function signatureHeaders(
  bundle: Bundle,
  secrets: BundleSecrets,
  envelopeSender: string,
  header: Buffer,
  open: () => Readable | Buffer,
  options: { readonly now?: Date; readonly mayUse?: (domain: string) => boolean } = {},
): Promise<DkimSignatures> {
  const now = options.now ?? new Date();
  const choice = chooseDkimKeys(bundle, secrets, envelopeSender, header, options.mayUse);
  if (!choice) return { signatures: '', domain: null, selectors: [], errors: [] };
  const result = await dkimSign(open(), {
    signingDomain: choice.domain,
    selector: choice.keys[0]!.selector,
    privateKey: choice.keys[0]!.privateKeyPem,
    canonicalization: 'relaxed/relaxed',
    signTime: now,
    signatureData: choice.keys.map((k) => ({
      signingDomain: choice.domain,
      selector: k.selector,
      privateKey: k.privateKeyPem,
      algorithm: k.algorithm,
      canonicalization: 'relaxed/relaxed',
    })),
  });
  const errors = result.errors.map((e) => `${e.selector ?? '?'}: ${e.err.code ?? ''} ${e.err.message}`.trim());
  const signed = choice.keys.map((k) => k.selector).filter((s) => !result.errors.some((e) => e.selector === s));
  if (!result.signatures) return { signatures: '', domain: null, selectors: [], errors };
  return { signatures: result.signatures, domain: choice.domain, selectors: signed, errors };
}
