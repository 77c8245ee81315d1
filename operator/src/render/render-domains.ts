// MailDomains → bundle domains, their DKIM selectors and DNS records.
import { issueReasons, type MailDomain, type MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { applyDefaults, type SchemaNode } from '../../../crds/src/crd-schemas.ts';
import { maxMessageSizeCap, type BundleDomain, type DkimAlgorithm } from '../../../bundle/schema.ts';
import type { ResourceRef } from './issues.ts';
import { byAge, namespaceOf, refOf, type RenderContext } from './context.ts';
import { X509Certificate } from 'node:crypto';
import { dnsRecordsFor, mtaStsHost, mtaStsPolicy, type DnsRecord } from './dns-records.ts';
import type { DkimKeyMaterial, MtaStsServer } from './input.ts';
import { parseQuantity } from './quantity.ts';
import { secretValue } from './input.ts';

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

/** Resolves defaults and keeps the first MailDomain of each domain; later ones conflict. */
export function acceptDomains(ctx: RenderContext, domains: MailDomain[], specSchema: SchemaNode): AcceptedDomain[] {
  const accepted = new Map<string, AcceptedDomain>();
  for (const resource of [...domains].sort(byAge)) {
    const spec = applyDefaults(specSchema, resource.spec) as MailDomainSpecResolved;
    const owner = accepted.get(spec.domain);
    if (owner) {
      ctx.error(
        refOf('MailDomain', resource.metadata),
        'spec.domain',
        issueReasons.domainConflict,
        `${spec.domain} is already served by MailDomain ${owner.namespace}/${owner.resource.metadata.name}`,
      );
      continue;
    }
    accepted.set(spec.domain, {
      resource,
      namespace: namespaceOf(resource.metadata),
      spec,
      hostname: spec.hostname ?? `mx.${spec.domain}`,
    });
  }
  return [...accepted.values()].sort((a, b) => (a.spec.domain < b.spec.domain ? -1 : 1));
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
export function renderDomain(ctx: RenderContext, d: AcceptedDomain, allKeys: DkimKeyMaterial[], mtaStsServedBy: MtaStsServer = 'mta'): RenderedDomain {
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

  const tlsSecretName = d.spec.tls?.secretName ?? (d.spec.tls?.issuerRef ? `${d.resource.metadata.name}-tls` : undefined);
  let tlsCertificate: RenderedDomain['tlsCertificate'] = null;
  if (tlsSecretName) {
    const secret = ctx.secret(d.namespace, tlsSecretName);
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
  if (size <= maxMessageSizeCap) return size;
  ctx.warning(ref, 'spec.inbound.maxMessageSize', issueReasons.invalidSpec, `maxMessageSize ${raw} is over the maximum of 100Mi; 100Mi is used`);
  return maxMessageSizeCap;
}
