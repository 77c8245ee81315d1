// render(): the pure function from resources to the configuration bundle.
//
// Given every MailDomain, Mailbox and Relay (and the Secrets and DKIM keys they refer
// to) it returns the bundle's two parts, the DNS records of each domain and every
// problem found, by resource and field. It never throws on bad input: a resource that
// cannot be used is left out (or only its faulty part is) and reported, and everything
// valid is still rendered, so one typo never takes mail down for every other domain.
// The output is deterministic: the same input gives byte-identical JSON, so a content
// hash of it tells whether anything changed.
import { createHash } from 'node:crypto';
import { specSchemaOf as specSchema } from '../../../crds/src/crd-schemas.ts';
import { issueReasons } from '../../../crds/src/index.ts';
import { bundleApiVersion, type Bundle, type BundleDomain, type BundleSecrets } from '../../../bundle/schema.ts';
import { refOf, RenderContext } from './context.ts';
import type { DnsRecord } from './dns-records.ts';
import type { RenderInput } from './input.ts';
import type { RenderIssue } from './issues.ts';
import { renderAddresses } from './render-addresses.ts';
import { acceptDomains, renderDomain, type RequiredSelector } from './render-domains.ts';
import { renderRelays } from './render-relays.ts';
import { findOffenders, refKey } from './bundle-guard.ts';

export interface MissingDkimKey extends RequiredSelector {
  namespace: string;
  /** The MailDomain's name. */
  name: string;
  domain: string;
}

export interface DomainReport {
  namespace: string;
  name: string;
  domain: string;
  dnsRecords: DnsRecord[];
  /** The policy file to serve at https://mta-sts.<domain>/.well-known/mta-sts.txt, or null. */
  mtaStsPolicy: string | null;
}

export interface RenderResult {
  bundle: Bundle;
  secrets: BundleSecrets;
  issues: RenderIssue[];
  domains: DomainReport[];
  missingDkimKeys: MissingDkimKey[];
  /**
   * Why the bundle would still be refused by the MTA although no resource is to blame (the
   * operator's own parts); empty when it passes bundle/check.ts. A non-empty list means: do
   * not publish it.
   */
  bundleErrors: string[];
}

/**
 * Renders, then checks the result as every MTA will (render/bundle-guard.ts): each resource
 * whose part fails the check, or overflows a bundle object, is left out and reported with
 * reason BundleCheckFailed on its field, and the rest is rendered again without it. Each round
 * leaves out at least one more resource, so it ends.
 */
export function render(input: RenderInput): RenderResult {
  const heldOut = new Set<string>();
  const held: RenderResult['issues'] = [];
  const heldOutDomains = new Map<string, string>();
  for (;;) {
    const keep = <T extends { metadata: { namespace?: string; name: string } }>(kind: 'MailDomain' | 'Mailbox' | 'Relay', list: T[]) =>
      heldOut.size === 0 ? list : list.filter((o) => !heldOut.has(refKey(refOf(kind, o.metadata))));
    const result = renderOnce(
      { ...input, domains: keep('MailDomain', input.domains), mailboxes: keep('Mailbox', input.mailboxes), relays: keep('Relay', input.relays) },
      heldOutDomains,
    );
    const verdict = findOffenders(result.bundle, result.secrets, input.objectLimits);
    const fresh = verdict.offenders.filter((o) => !heldOut.has(refKey(o.ref)));
    if (fresh.length === 0) return { ...result, issues: [...result.issues, ...held], bundleErrors: verdict.unattributed };
    for (const o of fresh) {
      heldOut.add(refKey(o.ref));
      const domain = o.ref.kind === 'MailDomain' ? input.domains.find((d) => refKey(refOf('MailDomain', d.metadata)) === refKey(o.ref)) : undefined;
      if (domain) heldOutDomains.set(domain.spec.domain, `${o.ref.namespace}/${o.ref.name}`);
      held.push({ ...o.ref, field: o.field, reason: issueReasons.bundleCheckFailed, message: o.message, severity: 'Error' });
    }
  }
}

function renderOnce(input: RenderInput, heldOutDomains: ReadonlyMap<string, string>): Omit<RenderResult, 'bundleErrors'> {
  const ctx = new RenderContext(input.secrets, heldOutDomains);
  const accepted = acceptDomains(ctx, input.domains, specSchema('MailDomain'), input.ownership);
  const byName = new Map(accepted.map((d) => [d.spec.domain, d]));

  const addresses = renderAddresses(ctx, byName, input.mailboxes, specSchema('Mailbox'), input.hashPassword, input.defaultDelivery, input.deliveryTargets);
  const relays = renderRelays(ctx, byName, input.relays, specSchema('Relay'));

  const domains: BundleDomain[] = [];
  const reports: DomainReport[] = [];
  const missingDkimKeys: MissingDkimKey[] = [];
  const dkimKeys: BundleSecrets['dkimKeys'] = [];
  const tlsCertificates: BundleSecrets['tlsCertificates'] = {};
  // A set, not a scan per domain: with thousands of domains and mailboxes the scans dominated.
  const claimed = new Set([...addresses.mailboxes.map((m) => m.address), ...addresses.aliases.map((a) => a.address)]);
  const keysByDomain = Map.groupBy(input.dkimKeys, (k) => k.domain);
  for (const d of accepted) {
    const rendered = renderDomain(ctx, d, keysByDomain.get(d.spec.domain) ?? [], input.mtaStsServedBy, input.allowedIssuers ?? null);
    const postmaster = `postmaster@${d.spec.domain}`;
    if (!claimed.has(postmaster) && !addresses.catchAll.has(d.spec.domain)) {
      ctx.warning(
        refOf('MailDomain', d.resource.metadata),
        'spec.inbound.aliases',
        issueReasons.postmasterMissing,
        `${postmaster} does not exist; RFC 5321 requires it and DMARC and TLS reports are sent there by default`,
      );
    }
    domains.push({
      ...rendered.domain,
      inbound: { ...rendered.domain.inbound, catchAll: addresses.catchAll.get(d.spec.domain) ?? null },
      outbound: { relay: relays.domainRelays.get(d.spec.domain) ?? null },
    });
    reports.push({
      namespace: d.namespace,
      name: d.resource.metadata.name,
      domain: d.spec.domain,
      dnsRecords: rendered.dnsRecords,
      mtaStsPolicy: rendered.mtaStsPolicy,
    });
    for (const m of rendered.missing) missingDkimKeys.push({ ...m, namespace: d.namespace, name: d.resource.metadata.name, domain: d.spec.domain });
    // Only signing keys go to the MTA; published ones are in DNS and status alone.
    const signing = new Set(rendered.domain.dkim.signing);
    for (const k of rendered.keys.filter((key) => signing.has(key.selector))) {
      dkimKeys.push({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, privateKeyPem: k.privateKeyPem });
    }
    if (rendered.tlsCertificate) {
      const { id, certPem, keyPem } = rendered.tlsCertificate;
      tlsCertificates[id] = { certPem, keyPem };
    }
  }

  const content = {
    domains,
    mailboxes: addresses.mailboxes,
    aliases: addresses.aliases,
    relays: relays.relays,
  };
  const secretContent = {
    dkimKeys,
    passwords: sortedRecord(addresses.passwords),
    relayCredentials: sortedRecord(relays.credentials),
    webhookKeys: sortedRecord(addresses.webhookKeys),
    tlsCertificates: sortedRecord(tlsCertificates),
    ...(input.srsKeys?.length ? { srsKeys: [...input.srsKeys] } : {}),
  };
  const revision = createHash('sha256')
    .update(JSON.stringify([content, secretContent]))
    .digest('hex')
    .slice(0, 16);
  return {
    bundle: { apiVersion: bundleApiVersion, revision, ...content },
    secrets: { apiVersion: bundleApiVersion, revision, ...secretContent },
    issues: ctx.issues,
    domains: reports,
    missingDkimKeys,
  };
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
