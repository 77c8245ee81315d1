// Which namespace may claim which domain (docs/trust-model.md §6). A MailDomain enters the bundle only when its namespace may claim its domain:
// the platform admin's allow-list says so, or the namespace proved it with a DNS TXT challenge.
// Pure: the DNS lookups happen in operator/src/ownership/, which hands render the result.
import { createHmac } from 'node:crypto';
import { domainChallengeLabel } from '../../../crds/src/index.ts';

/** The TXT record that proves a namespace may claim a domain. */
export interface ChallengeRecord {
  name: string;
  value: string;
}

export interface DomainOwnership {
  /**
   * The admin's allow-list: namespace (or "*", any namespace) → domain patterns it may claim:
   * "example.com" (that name), "*.example.com" (any name under it, not itself), "*" (any).
   */
  allow: Readonly<Record<string, readonly string[]>>;
  /** "namespace/domain" pairs whose challenge record was seen in DNS. */
  verified: ReadonlySet<string>;
  /** The record a namespace publishes to prove a domain; null when challenges are off. */
  challenge: ((namespace: string, domain: string) => ChallengeRecord) | null;
}

/** Whether a domain pattern of the allow-list covers the name. */
export function patternCovers(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  if (p === '*') return true;
  if (p.startsWith('*.')) return n.endsWith(p.slice(1));
  return p === n;
}

/** Whether the admin's allow-list lets the namespace claim the name. */
export function allowListed(ownership: Pick<DomainOwnership, 'allow'>, namespace: string, name: string): boolean {
  return [...(ownership.allow[namespace] ?? []), ...(ownership.allow['*'] ?? [])].some((p) => patternCovers(p, name));
}

/** Whether the name is the domain or a name under it. */
export function isWithin(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/\.$/, '');
  return n === d || n.endsWith(`.${d}`);
}

export function verifiedKey(namespace: string, domain: string): string {
  return `${namespace}/${domain}`;
}

/**
 * The challenge record of a namespace and domain. The token is an HMAC with a key of this
 * installation, so a record published for one Stafette installation proves nothing to another,
 * and one for namespace A nothing for namespace B; it is not a secret (it is in DNS).
 */
export function challengeRecordOf(installationKey: Buffer, namespace: string, domain: string): ChallengeRecord {
  const token = createHmac('sha256', installationKey).update(`stafette-domain-challenge\0${namespace}\0${domain}`).digest('base64url').slice(0, 32);
  return { name: `${domainChallengeLabel}.${domain}`, value: `stafette-domain-verification=${token}` };
}

/** Everyone may claim everything: offline renders (`stafette render`), where the person rendering is the admin. */
export const unrestrictedOwnership: DomainOwnership = { allow: { '*': ['*'] }, verified: new Set(), challenge: null };

/**
 * An issuer a MailDomain may name in tls.issuerRef: kind Issuer (in the MailDomain's own
 * namespace) or ClusterIssuer, a name ("*" for any) and the API group (cert-manager.io by default).
 */
export interface IssuerRule {
  kind: string;
  name: string;
  group?: string;
}

export function issuerAllowed(rules: readonly IssuerRule[] | null, issuer: { name: string; kind?: string; group?: string }): boolean {
  if (rules === null) return true;
  const kind = issuer.kind ?? 'Issuer';
  const group = issuer.group ?? 'cert-manager.io';
  return rules.some((r) => r.kind === kind && (r.group ?? 'cert-manager.io') === group && (r.name === '*' || r.name === issuer.name));
}

/** Parses "Kind/name" or "Kind/name.group" (the operator's --allowed-issuer flag). */
export function parseIssuerRule(text: string): IssuerRule {
  const match = /^(Issuer|ClusterIssuer|[A-Z][A-Za-z0-9]*)\/([^./]+|\*)(?:\.([a-z0-9.-]+))?$/.exec(text.trim());
  if (!match) throw new Error(`--allowed-issuer ${JSON.stringify(text)}: expected Kind/name or Kind/name.group, e.g. ClusterIssuer/letsencrypt`);
  const [, kind, name, group] = match as unknown as [string, string, string, string | undefined];
  return group ? { kind, name, group } : { kind, name };
}

/** Parses "namespace=pattern[,pattern...]" (the operator's --domain-allow flag) into the allow-list. */
export function parseDomainAllow(entries: readonly string[]): Record<string, string[]> {
  const allow: Record<string, string[]> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const namespace = entry.slice(0, at).trim();
    const patterns = entry
      .slice(at + 1)
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (at <= 0 || patterns.length === 0 || patterns.some((p) => !/^(\*|(\*\.)?[a-z0-9.-]+)$/i.test(p))) {
      throw new Error(`--domain-allow ${JSON.stringify(entry)}: expected namespace=pattern[,pattern], e.g. mail=example.com,*.example.com`);
    }
    allow[namespace] = [...(allow[namespace] ?? []), ...patterns];
  }
  return allow;
}
