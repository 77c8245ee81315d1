// Relays → the bundle's relay table, and each domain's outbound relay.
//
// Relays route the mail of their own namespace: senderDomains must be domains of that
// namespace (else one tenant could capture another's outgoing mail), and within a
// namespace a domain may be matched by one Relay only, and one Relay may be the default.
// A MailDomain's outbound.relayRef is the most specific rule and wins over a Relay
// that lists the same domain in senderDomains, which is reported as a conflict.
import { issueReasons, secretUseLabel, secretUses, type Relay, type RelaySpecResolved } from '../../../crds/src/index.ts';
import { applyDefaults, type SchemaNode } from '../../../crds/src/crd-schemas.ts';
import { normalizeDomain } from '../../../bundle/address.ts';
import type { BundleRelay } from '../../../bundle/schema.ts';
import { byAge, refOf, type RenderContext } from './context.ts';
import { secretValue } from './input.ts';
import type { AcceptedDomain } from './render-domains.ts';

export interface RelayTables {
  relays: BundleRelay[];
  credentials: Record<string, { username: string; password: string }>;
  /** domain → relay id, from MailDomain outbound.relayRef. */
  domainRelays: Map<string, string>;
}

export function renderRelays(ctx: RenderContext, domains: Map<string, AcceptedDomain>, relays: Relay[], relaySchema: SchemaNode): RelayTables {
  const out: RelayTables = { relays: [], credentials: {}, domainRelays: new Map() };
  const ids = new Set(relays.map((r) => `${refOf('Relay', r.metadata).namespace}/${r.metadata.name}`));

  for (const d of domains.values()) {
    const relayName = d.spec.outbound?.relayRef?.name;
    if (!relayName) continue;
    const id = `${d.namespace}/${relayName}`;
    if (ids.has(id)) out.domainRelays.set(d.spec.domain, id);
    else {
      ctx.error(
        refOf('MailDomain', d.resource.metadata),
        'spec.outbound.relayRef',
        issueReasons.relayNotFound,
        `Relay ${relayName} not found in namespace ${d.namespace}; mail from ${d.spec.domain} is delivered directly until it exists`,
      );
    }
  }

  // Claims per namespace: "sender:<domain>", "recipient:<domain>" and "default" → relay id.
  const claims = new Map<string, string>();
  for (const resource of [...relays].sort(byAge)) {
    const ref = refOf('Relay', resource.metadata);
    const id = `${ref.namespace}/${ref.name}`;
    const spec = applyDefaults(relaySchema, resource.spec) as RelaySpecResolved;
    const claim = (key: string, field: string, what: string): boolean => {
      const owner = claims.get(`${ref.namespace}:${key}`);
      if (owner) {
        ctx.error(ref, field, issueReasons.relayConflict, `${what} is already matched by Relay ${owner}`);
        return false;
      }
      claims.set(`${ref.namespace}:${key}`, id);
      return true;
    };

    const isDefault = spec.default && claim('default', 'spec.default', 'the default route');
    const senderDomains: string[] = [];
    (spec.match?.senderDomains ?? []).forEach((raw, i) => {
      const field = `spec.match.senderDomains[${i}]`;
      const domain = normalizeDomain(raw) ?? raw;
      const owner = domains.get(domain);
      if (!owner || owner.namespace !== ref.namespace) {
        ctx.error(ref, field, issueReasons.senderDomainNotOwned, `${domain} is not served by a MailDomain in namespace ${ref.namespace}`);
        return;
      }
      const pinned = out.domainRelays.get(domain);
      if (pinned && pinned !== id) {
        ctx.error(ref, field, issueReasons.relayConflict, `${domain} sends through Relay ${pinned} (its MailDomain's outbound.relayRef)`);
        return;
      }
      if (claim(`sender:${domain}`, field, `sender domain ${domain}`)) senderDomains.push(domain);
    });
    const recipientDomains: string[] = [];
    (spec.match?.recipientDomains ?? []).forEach((raw, i) => {
      const domain = normalizeDomain(raw) ?? raw;
      if (claim(`recipient:${domain}`, `spec.match.recipientDomains[${i}]`, `recipient domain ${domain}`)) recipientDomains.push(domain);
    });

    const auth = spec.authSecretRef;
    if (auth) {
      // An unmarked Secret is never read: the relay stays without credentials, so its mail waits.
      const secret = ctx.usableSecret(ref, 'spec.authSecretRef.name', auth.name, secretUses.relayAuth);
      const username = secret ? secretValue(secret, auth.usernameKey) : undefined;
      const password = secret ? secretValue(secret, auth.passwordKey) : undefined;
      if (secret === null) {
        // Reported as SecretNotMarked.
      } else if (username === undefined || password === undefined) {
        ctx.error(
          ref,
          'spec.authSecretRef',
          issueReasons.relayCredentialsNotFound,
          `Secret ${auth.name} with keys ${auth.usernameKey} and ${auth.passwordKey} not found among the Secrets labelled ${secretUseLabel}=${secretUses.relayAuth}; mail through this relay waits in the queue until it exists`,
        );
      } else out.credentials[id] = { username, password };
    }

    out.relays.push({
      id,
      source: { namespace: ref.namespace, name: ref.name },
      host: spec.host,
      port: spec.port,
      tls: spec.tls,
      ...(spec.insecureSkipVerify ? { verifyCertificate: false } : {}),
      auth: auth !== undefined,
      match: { default: isDefault, senderDomains: senderDomains.sort(), recipientDomains: recipientDomains.sort() },
      limits: { connections: spec.limits.connections, messagesPerSecond: spec.limits.messagesPerSecond ?? null },
    });
  }
  out.relays.sort((a, b) => (a.id < b.id ? -1 : 1));
  return out;
}
