// MailDomains → bundle domains, their DKIM selectors and DNS records.
import type { MailDomain, MailDomainSpecResolved } from '../../../crds/src/index.ts';
import { applyDefaults, type SchemaNode } from '../../../crds/src/crd-schemas.ts';
import type { BundleDomain, DkimAlgorithm } from '../../../mta/src/config/bundle-schema.ts';
import { byAge, namespaceOf, refOf, type RenderContext } from './context.ts';
import { dnsRecordsFor, mtaStsPolicy, type DnsRecord } from './dns-records.ts';
import type { DkimKeyMaterial } from './input.ts';
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

/** Resolves defaults and keeps the first MailDomain of each domain; later ones conflict. */
export function acceptDomains(ctx: RenderContext, domains: MailDomain[], specSchema: SchemaNode): AcceptedDomain[] {
  const accepted = new Map<string, AcceptedDomain>();
  for (const resource of [...domains].sort(byAge)) {
    const spec = applyDefaults(specSchema, resource.spec) as MailDomainSpecResolved;
    const owner = accepted.get(spec.domain);
    if (owner) {
      ctx.error(refOf('MailDomain', resource.metadata), 'spec.domain', 'DomainConflict',
        `${spec.domain} is already served by MailDomain ${owner.namespace}/${owner.resource.metadata.name}`);
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
export function renderDomain(ctx: RenderContext, d: AcceptedDomain, allKeys: DkimKeyMaterial[]): RenderedDomain {
  const ref = refOf('MailDomain', d.resource.metadata);
  const keys: DkimKeyMaterial[] = [];
  const missing: RequiredSelector[] = [];
  for (const wanted of requiredSelectors(d.spec)) {
    const key = allKeys.find((k) => k.domain === d.spec.domain && k.selector === wanted.selector && k.algorithm === wanted.algorithm);
    if (key) keys.push(key);
    else missing.push(wanted);
  }
  if (missing.length > 0) {
    ctx.warning(ref, 'spec.dkim', 'DKIMKeyMissing',
      `no DKIM key yet for selector ${missing.map((m) => m.selector).join(', ')}; mail is not signed with it until one is generated`);
  }

  const tlsSecretName = d.spec.tls?.secretName ?? (d.spec.tls?.issuerRef ? `${d.resource.metadata.name}-tls` : undefined);
  let tlsCertificate: RenderedDomain['tlsCertificate'] = null;
  if (tlsSecretName) {
    const secret = ctx.secret(d.namespace, tlsSecretName);
    const certPem = secretValue(secret, 'tls.crt');
    const keyPem = secretValue(secret, 'tls.key');
    if (certPem && keyPem) tlsCertificate = { id: `${d.namespace}/${tlsSecretName}`, certPem, keyPem };
  }

  return {
    domain: {
      domain: d.spec.domain,
      hostname: d.hostname,
      source: { namespace: d.namespace, name: d.resource.metadata.name },
      dkim: {
        signing: keys.map((k) => k.selector),
        selectors: keys.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey })),
      },
      tls: tlsSecretName ? { secretName: `${d.namespace}/${tlsSecretName}` } : null,
      inbound: {
        maxMessageSize: parseQuantity(d.spec.inbound.maxMessageSize),
        maxRecipients: d.spec.inbound.maxRecipients,
        dmarc: d.spec.inbound.dmarc,
      },
    },
    keys,
    missing,
    dnsRecords: dnsRecordsFor(d.spec, d.hostname, keys),
    mtaStsPolicy: mtaStsPolicy(d.spec, d.hostname),
    tlsCertificate,
  };
}
