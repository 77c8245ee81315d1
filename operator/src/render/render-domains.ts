// MailDomains → bundle domains, their DKIM selectors and DNS records.
import { delegateSubdomainsAnnotation, issueReasons, secretUses, type MailDomain, type MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { applyDefaults, type SchemaNode } from '../../../crds/src/crd-schemas.ts';
import { maxMessageSizeCap, type BundleDomain, type DkimAlgorithm } from '../../../bundle/schema.ts';
import type { ResourceRef } from './issues.ts';
import { byAge, namespaceOf, refOf, type RenderContext } from './context.ts';
import { X509Certificate } from 'node:crypto';
import { dnsRecordsFor, mtaStsHost, mtaStsPolicy, type DnsRecord } from './dns-records.ts';
import type { DkimKeyMaterial, MtaStsServer } from './input.ts';
import { parseQuantity } from './quantity.ts';
import { secretValue, type SecretObject } from './input.ts';
import { allowListed, isWithin, issuerAllowed, unrestrictedOwnership, verifiedKey, type DomainOwnership, type IssuerRule } from './ownership.ts';

export interface AcceptedDomain {
  resource: MailDomain;
  namespace: string;
  spec: MailDomainSpecResolved;
  hostname: string;
}

export interface RequiredSelector {
  selector: string;
  algorithm: DkimAlgorithm;
}

/** The selectors a domain's spec asks for: one, or two with algorithm "both". */
export function requiredSelectors(spec: MailDomainSpecResolved): RequiredSelector[] {
  const { selector, algorithm } = spec.dkim;
  if (algorithm === 'both') {
    return [
      { selector: `${selector}-rsa`, algorithm: 'rsa-sha256' },
      { selector: `${selector}-ed25519`, algorithm: 'ed25519-sha256' },
    ];
  }
  return [{ selector, algorithm: algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256' }];
}

/**
 * Which of a domain's keys sign and which are published. Keys managed by the operator
 * carry a rotation state: every one is published, the Signing ones of an algorithm the
 * spec asks for sign, and an algorithm with no live key is missing. Keys without a
 * state (offline renders) are used when their selector is one the spec names.
 */
export function selectKeys(
  spec: MailDomainSpecResolved,
  keys: DkimKeyMaterial[],
): { signing: DkimKeyMaterial[]; published: DkimKeyMaterial[]; missing: RequiredSelector[] } {
  const required = requiredSelectors(spec);
  const bySelector = (a: DkimKeyMaterial, b: DkimKeyMaterial) => (a.selector < b.selector ? -1 : a.selector > b.selector ? 1 : 0);
  if (keys.some((k) => k.state !== undefined)) {
    const published = [...keys].sort(bySelector);
    const signing = published.filter((k) => k.state === 'Signing' && required.some((r) => r.algorithm === k.algorithm));
    const missing = required.filter((r) => !keys.some((k) => k.algorithm === r.algorithm && k.state !== 'Retiring'));
    return { signing, published, missing };
  }
  const found: DkimKeyMaterial[] = [];
  const missing: RequiredSelector[] = [];
  for (const wanted of required) {
    const key = keys.find((k) => k.selector === wanted.selector && k.algorithm === wanted.algorithm);
    if (key) found.push(key);
    else missing.push(wanted);
  }
  return { signing: found, published: found, missing };
}

/**
 * Resolves defaults and decides which MailDomain serves each domain, in one place
 * (docs/trust-model.md §6): a MailDomain counts only when its namespace may claim its domain (the
 * admin's allow-list, or a DNS challenge seen) and its hostname is the domain or under it; of
 * those, the oldest of each domain wins; and a domain under another namespace's domain needs that
 * namespace's consent (its MailDomain's delegate annotation) or the allow-list. Unclaimed
 * MailDomains never block the owner's: a squatter's older resource is not a claim.
 */
export function acceptDomains(
  ctx: RenderContext,
  domains: MailDomain[],
  specSchema: SchemaNode,
  ownership: DomainOwnership = unrestrictedOwnership,
): AcceptedDomain[] {
  const accepted = new Map<string, AcceptedDomain>();
  for (const resource of [...domains].sort(byAge)) {
    const spec = applyDefaults(specSchema, resource.spec) as MailDomainSpecResolved;
    const ref = refOf('MailDomain', resource.metadata);
    const namespace = namespaceOf(resource.metadata);
    const hostname = spec.hostname ?? `mx.${spec.domain}`;
    if (!isWithin(hostname, spec.domain) && !allowListed(ownership, namespace, hostname)) {
      ctx.error(ref, 'spec.hostname', issueReasons.hostnameOutsideDomain, `${hostname} is not ${spec.domain} or a name under it`);
      continue;
    }
    if (!allowListed(ownership, namespace, spec.domain) && !ownership.verified.has(verifiedKey(namespace, spec.domain))) {
      const record = ownership.challenge?.(namespace, spec.domain);
      ctx.error(
        ref,
        'spec.domain',
        issueReasons.domainNotVerified,
        record
          ? `namespace ${namespace} may not claim ${spec.domain} yet: publish the TXT record ${record.name} "${record.value}" (or ask the platform admin to allow it)`
          : `namespace ${namespace} may not claim ${spec.domain}: the platform admin's allow-list does not name it`,
      );
      continue;
    }
    const owner = accepted.get(spec.domain);
    if (owner) {
      ctx.error(
        ref,
        'spec.domain',
        issueReasons.domainConflict,
        `${spec.domain} is already served by MailDomain ${owner.namespace}/${owner.resource.metadata.name}`,
      );
      continue;
    }
    accepted.set(spec.domain, { resource, namespace, spec, hostname });
  }
  // Parents before their subdomains, so a refused subdomain is never anyone's parent.
  const kept = new Map<string, AcceptedDomain>();
  for (const d of [...accepted.values()].sort((a, b) => a.spec.domain.split('.').length - b.spec.domain.split('.').length)) {
    const parent = parentOf(kept, d.spec.domain);
    if (parent && parent.namespace !== d.namespace && !delegates(parent, d.namespace) && !allowListed(ownership, d.namespace, d.spec.domain)) {
      ctx.error(
        refOf('MailDomain', d.resource.metadata),
        'spec.domain',
        issueReasons.subdomainNotDelegated,
        `${d.spec.domain} is under ${parent.spec.domain} of namespace ${parent.namespace}, whose MailDomain ${parent.resource.metadata.name} does not delegate it to ${d.namespace} (annotation ${delegateSubdomainsAnnotation})`,
      );
      continue;
    }
    kept.set(d.spec.domain, d);
  }
  return [...kept.values()].sort((a, b) => (a.spec.domain < b.spec.domain ? -1 : 1));
}

/** The closest served domain a name is under (not the name itself). */
function parentOf(served: ReadonlyMap<string, AcceptedDomain>, domain: string): AcceptedDomain | undefined {
  const labels = domain.split('.');
  for (let i = 1; i < labels.length; i++) {
    const found = served.get(labels.slice(i).join('.'));
    if (found) return found;
  }
  return undefined;
}

function delegates(parent: AcceptedDomain, namespace: string): boolean {
  const list = parent.resource.metadata.annotations?.[delegateSubdomainsAnnotation] ?? '';
  return list.split(',').some((n) => n.trim() === namespace || n.trim() === '*');
}

export interface RenderedDomain {
  domain: Omit<BundleDomain, 'outbound' | 'inbound'> & { inbound: Omit<BundleDomain['inbound'], 'catchAll'> };
  keys: DkimKeyMaterial[];
  missing: RequiredSelector[];
  dnsRecords: DnsRecord[];
  mtaStsPolicy: string | null;
  tlsCertificate: { id: string; certPem: string; keyPem: string } | null;
}

/** One accepted domain's bundle entry (without routing, which needs addresses and relays). */
export function renderDomain(
  ctx: RenderContext,
  d: AcceptedDomain,
  allKeys: DkimKeyMaterial[],
  mtaStsServedBy: MtaStsServer = 'mta',
  allowedIssuers: readonly IssuerRule[] | null = null,
): RenderedDomain {
  const ref = refOf('MailDomain', d.resource.metadata);
  const { signing, published, missing } = selectKeys(
    d.spec,
    allKeys.filter((k) => k.domain === d.spec.domain),
  );
  if (missing.length > 0) {
    ctx.warning(
      ref,
      'spec.dkim',
      issueReasons.dkimKeyMissing,
      `no DKIM key yet for selector ${missing.map((m) => m.selector).join(', ')}; mail is not signed with it until one is generated`,
    );
  }

  const tlsSecretName = tlsSecretOf(ctx, d, allowedIssuers);
  let tlsCertificate: RenderedDomain['tlsCertificate'] = null;
  if (tlsSecretName) {
    const secret = ctx.usableSecret(ref, d.spec.tls?.secretName ? 'spec.tls.secretName' : 'spec.tls.issuerRef', tlsSecretName, secretUses.tls) ?? undefined;
    const certPem = secretValue(secret, 'tls.crt');
    const keyPem = secretValue(secret, 'tls.key');
    if (certPem && keyPem) tlsCertificate = { id: `${d.namespace}/${tlsSecretName}`, certPem, keyPem };
  }

  const policy = mtaStsPolicy(d.spec, d.hostname);
  const notServed = policy === null ? null : mtaStsNotServedBecause(d, tlsCertificate, mtaStsServedBy);
  if (policy !== null && notServed !== null) {
    ctx.warning(ref, 'spec.dns.mtaSts', issueReasons.mtaStsNotServed, `the MTA-STS policy is not published: ${notServed}`);
  }
  const served = policy !== null && notServed === null;

  return {
    domain: {
      domain: d.spec.domain,
      hostname: d.hostname,
      source: { namespace: d.namespace, name: d.resource.metadata.name },
      dkim: {
        signing: signing.map((k) => k.selector),
        selectors: published.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey })),
      },
      tls: tlsSecretName ? { secretName: `${d.namespace}/${tlsSecretName}` } : null,
      inbound: {
        maxMessageSize: clampedMessageSize(ctx, ref, d.spec.inbound.maxMessageSize),
        maxRecipients: d.spec.inbound.maxRecipients,
        dmarc: d.spec.inbound.dmarc,
      },
      ...(served ? { mtaSts: { policy: policy } } : {}),
    },
    keys: published,
    missing,
    dnsRecords: dnsRecordsFor(d.spec, d.hostname, published, served),
    mtaStsPolicy: served ? policy : null,
    tlsCertificate,
  };
}

/**
 * The Secret of the domain's certificate, or undefined for the MTA's default one. A certificate
 * comes only from an issuer the admin allows, and cert-manager writes only into a Secret that is
 * new or already this MailDomain's (its owner, or cert-manager's annotation naming our
 * Certificate): never over someone else's Secret (docs/trust-model.md §6).
 */
function tlsSecretOf(ctx: RenderContext, d: AcceptedDomain, allowedIssuers: readonly IssuerRule[] | null): string | undefined {
  const tls = d.spec.tls;
  if (!tls?.issuerRef) return tls?.secretName;
  const ref = refOf('MailDomain', d.resource.metadata);
  const issuer = tls.issuerRef;
  if (!issuerAllowed(allowedIssuers, issuer)) {
    ctx.error(
      ref,
      'spec.tls.issuerRef',
      issueReasons.issuerNotAllowed,
      `${issuer.kind ?? 'Issuer'} ${issuer.name} is not on the platform's list of allowed issuers; the MTA's default certificate is used`,
    );
    return undefined;
  }
  const name = tls.secretName ?? certificateSecretName(d.resource.metadata.name);
  const existing = ctx.secret(d.namespace, name);
  if (existing && d.resource.metadata.uid && !ownsSecret(d.resource, existing)) {
    ctx.error(
      ref,
      'spec.tls.secretName',
      issueReasons.tlsSecretNotOwned,
      `Secret ${name} exists and is not this MailDomain's; name a new Secret (cert-manager creates it); the MTA's default certificate is used`,
    );
    return undefined;
  }
  return name;
}

/** The Secret cert-manager writes for a MailDomain without tls.secretName; also its Certificate's name. */
export function certificateSecretName(domainName: string): string {
  return `${domainName}-tls`;
}

function ownsSecret(domain: MailDomain, secret: SecretObject): boolean {
  if (secret.metadata.ownerReferences?.some((o) => o.uid === domain.metadata.uid)) return true;
  return secret.metadata.annotations?.['cert-manager.io/certificate-name'] === certificateSecretName(domain.metadata.name);
}

// Why a domain's policy cannot be served at https://mta-sts.<domain>/, or null when it can: the
// MTA serves it with the domain's certificate, which must then name mta-sts.<domain> (a
// cert-manager Certificate of ours does; a Secret of the user's is checked).
function mtaStsNotServedBecause(d: AcceptedDomain, tls: RenderedDomain['tlsCertificate'], by: MtaStsServer): string | null {
  if (by === 'none') return 'the installation serves no MTA-STS policies (mtaSts.serve in the chart)';
  if (by === 'ingress' || d.spec.tls?.issuerRef) return null;
  const host = mtaStsHost(d.spec.domain);
  if (!d.spec.tls?.secretName)
    return `no certificate for ${host}: set tls.issuerRef (the Certificate then names it) or a tls.secretName whose certificate does`;
  if (!tls) return `the certificate in Secret ${d.spec.tls.secretName} is not readable yet`;
  try {
    return new X509Certificate(tls.certPem).checkHost(host) ? null : `the certificate in Secret ${d.spec.tls.secretName} does not name ${host}`;
  } catch {
    return `the certificate in Secret ${d.spec.tls.secretName} cannot be parsed`;
  }
}

/** spec.inbound.maxMessageSize, at most maxMessageSizeCap (100 MiB; the CRD says so too, for integers). */
function clampedMessageSize(ctx: RenderContext, ref: ResourceRef, raw: number | string): number {
  const size = parseQuantity(raw);
  // A size that is not a safe integer is not "too large" but unusable: it is left for the
  // bundle check to refuse, so the domain is flagged (BundleCheckFailed) rather than served.
  if (size <= maxMessageSizeCap || !Number.isSafeInteger(size)) return size;
  ctx.warning(ref, 'spec.inbound.maxMessageSize', issueReasons.invalidSpec, `maxMessageSize ${raw} is over the maximum of 100Mi; 100Mi is used`);
  return maxMessageSizeCap;
}
