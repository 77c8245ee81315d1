// Validation of a bundle as the MTA loads it: the schema first, then the references
// between its parts, so a bundle that would route mail nowhere is refused as a whole
// and the MTA keeps the last good one (docs/architecture.md §2 contract 6).
import type { z } from 'zod';
import { domainOf, withoutSubaddress } from './address.ts';
import { passwordHashProblem } from './password-hash.ts';
import { bundleApiVersion, bundleSchema, bundleSecretsSchema, type Bundle, type BundleSecrets } from './schema.ts';

export type BundleCheck = { ok: true; bundle: Bundle; secrets: BundleSecrets } | { ok: false; errors: string[] };

/** Parses and checks both parts of a bundle, given as parsed JSON. */
export function checkBundle(config: unknown, secrets: unknown): BundleCheck {
  const errors: string[] = [];
  for (const [part, value] of [
    ['bundle.json', config],
    ['secrets.json', secrets],
  ] as const) {
    const version = (value as { apiVersion?: unknown } | null)?.apiVersion;
    if (version !== bundleApiVersion) {
      errors.push(`${part}: apiVersion ${JSON.stringify(version)} is not ${bundleApiVersion}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const parsedConfig = bundleSchema.safeParse(config);
  const parsedSecrets = bundleSecretsSchema.safeParse(secrets);
  if (!parsedConfig.success) errors.push(...describeIssues('bundle.json', parsedConfig.error));
  if (!parsedSecrets.success) errors.push(...describeIssues('secrets.json', parsedSecrets.error));
  if (!parsedConfig.success || !parsedSecrets.success) return { ok: false, errors };

  errors.push(...checkReferences(parsedConfig.data, parsedSecrets.data));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, bundle: parsedConfig.data, secrets: parsedSecrets.data };
}

function describeIssues(part: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
    return `${part}: ${path || '(root)'}: ${issue.message}`;
  });
}

/** The cross-references a consistent bundle keeps; each broken one is an error. */
export function checkReferences(bundle: Bundle, secrets: BundleSecrets): string[] {
  const errors: string[] = [];
  if (bundle.revision !== secrets.revision) {
    errors.push(`revision ${bundle.revision} of bundle.json differs from ${secrets.revision} of secrets.json (a half-updated mount)`);
  }
  const domains = new Set(bundle.domains.map((d) => d.domain));
  const addresses = new Set<string>();
  const claim = (address: string, what: string) => {
    if (addresses.has(address)) errors.push(`${what}: address ${address} is claimed twice`);
    addresses.add(address);
  };

  const seenDomains = new Set<string>();
  for (const d of bundle.domains) {
    if (seenDomains.has(d.domain)) errors.push(`domains: ${d.domain} appears twice`);
    seenDomains.add(d.domain);
    for (const selector of d.dkim.signing) {
      if (!d.dkim.selectors.some((s) => s.selector === selector)) {
        errors.push(`domains[${d.domain}].dkim: signing selector ${selector} has no public key`);
      }
      if (!secrets.dkimKeys.some((k) => k.domain === d.domain && k.selector === selector)) {
        errors.push(`domains[${d.domain}].dkim: signing selector ${selector} has no private key in secrets.json`);
      }
    }
  }
  for (const m of bundle.mailboxes) {
    claim(m.address, `mailboxes[${m.address}]`);
    if (!domains.has(domainOf(m.address))) errors.push(`mailboxes[${m.address}]: domain is not in domains`);
    if (m.login && !secrets.passwords[m.address]) errors.push(`mailboxes[${m.address}]: login is enabled but secrets.json has no password hash`);
    if (m.delivery.type === 'webhook' && !secrets.webhookKeys[m.address]) {
      errors.push(`mailboxes[${m.address}]: webhook delivery has no HMAC key in secrets.json`);
    }
  }
  for (const a of bundle.aliases) {
    claim(a.address, `aliases[${a.address}]`);
    if (!domains.has(domainOf(a.address))) errors.push(`aliases[${a.address}]: domain is not in domains`);
  }
  const local = (address: string) => domains.has(domainOf(address));
  // local+tag@domain reaches local@domain, as the directory routes it (mta/src/directory.ts).
  const exists = (address: string) => addresses.has(address) || addresses.has(withoutSubaddress(address) ?? address);
  for (const a of bundle.aliases) {
    for (const target of a.to) {
      if (local(target) && !exists(target)) errors.push(`aliases[${a.address}]: target ${target} does not exist`);
    }
  }
  for (const d of bundle.domains) {
    const catchAll = d.inbound.catchAll;
    if (catchAll && local(catchAll) && !exists(catchAll)) {
      errors.push(`domains[${d.domain}].inbound.catchAll: ${catchAll} does not exist`);
    }
    if (d.outbound.relay && !bundle.relays.some((r) => r.id === d.outbound.relay)) {
      errors.push(`domains[${d.domain}].outbound.relay: relay ${d.outbound.relay} does not exist`);
    }
  }
  // Only hashes of the platform's one scrypt cost (bundle/password-hash.ts, docs/trust-model.md).
  for (const [address, hash] of Object.entries(secrets.passwords)) {
    const problem = passwordHashProblem(hash);
    if (problem) errors.push(`secrets.json: passwords[${address}]: ${problem}`);
  }
  const relayIds = new Set<string>();
  for (const r of bundle.relays) {
    if (relayIds.has(r.id)) errors.push(`relays: ${r.id} appears twice`);
    relayIds.add(r.id);
  }
  return errors;
}
