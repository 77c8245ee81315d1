// The operator's side of contract 6 (docs/architecture.md §2): before a bundle is published
// it is put through the very check every MTA runs on load (bundle/check.ts) and measured
// against the size an object may have (bundle/files.ts). A value can pass the CRD and still
// fail that check (a maxMessageSize of "0", a webhook URL without a host); published, such a
// bundle would be refused by every MTA, which would keep an old one, and a new MTA pod, having
// none, would never become ready. So each failure is traced back to the resource whose part
// caused it, that resource is left out and reported on the field at fault, and render() tries
// again without it (render.ts): the bundle written is always one every MTA accepts.
import type { Kind } from '../../../crds/src/index.ts';
import { checkReferences } from '../../../bundle/check.ts';
import { domainOf } from '../../../bundle/address.ts';
import { encodeBundleFiles, shardOf } from '../../../bundle/files.ts';
import { bundleSchema, bundleSecretsSchema, type Bundle, type BundleSecrets } from '../../../bundle/schema.ts';
import type { ResourceRef } from './issues.ts';

/** The objects a bundle is written into: how many Secret shards, and how much data each object may hold. */
export interface ObjectLimits {
  shards: number;
  maxBytes: number;
}

export interface BundleOffender {
  ref: ResourceRef;
  /** The field of the resource at fault, as render issues name fields (spec.inbound.maxMessageSize). */
  field: string;
  message: string;
}

export interface GuardVerdict {
  offenders: BundleOffender[];
  /** Failures no resource can be blamed for (the operator's own parts); such a bundle must not be written. */
  unattributed: string[];
}

export function refKey(ref: ResourceRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** Everything the MTA would refuse in this bundle (or the objects could not hold), by the resource at fault. */
export function findOffenders(bundle: Bundle, secrets: BundleSecrets, limits?: ObjectLimits): GuardVerdict {
  const offenders = new Map<string, BundleOffender>();
  const unattributed: string[] = [];
  const blame = (ref: ResourceRef | undefined, field: string, message: string) => {
    if (!ref) {
      unattributed.push(message);
      return;
    }
    if (!offenders.has(refKey(ref))) offenders.set(refKey(ref), { ref, field, message: `the MTA would refuse the bundle: ${message}` });
  };
  const refOfSource = (kind: Kind, source: { namespace: string; name: string }): ResourceRef => ({ kind, ...source });
  const domainByName = new Map(bundle.domains.map((d) => [d.domain, d]));
  const mailboxByAddress = new Map(bundle.mailboxes.map((m) => [m.address, m]));
  const relayById = new Map(bundle.relays.map((r) => [r.id, r]));
  const aliasByAddress = new Map(bundle.aliases.map((a) => [a.address, a]));
  const domainRef = (name: string | undefined) => {
    const d = name === undefined ? undefined : domainByName.get(name);
    return d ? refOfSource('MailDomain', d.source) : undefined;
  };
  const mailboxRef = (address: string | undefined) => {
    const m = address === undefined ? undefined : mailboxByAddress.get(address);
    return m ? refOfSource('Mailbox', m.source) : undefined;
  };
  const relayRef = (id: string | undefined) => {
    const r = id === undefined ? undefined : relayById.get(id);
    return r ? refOfSource('Relay', r.source) : undefined;
  };
  // An alias comes from its MailDomain's inbound.aliases or from a Mailbox's aliases.
  const aliasRef = (address: string | undefined): { ref: ResourceRef; field: string } | undefined => {
    const a = address === undefined ? undefined : aliasByAddress.get(address);
    if (!a) return undefined;
    const d = domainByName.get(domainOf(a.address));
    const fromDomain = d !== undefined && d.source.namespace === a.source.namespace && d.source.name === a.source.name;
    return fromDomain
      ? { ref: refOfSource('MailDomain', a.source), field: 'spec.inbound.aliases' }
      : { ref: refOfSource('Mailbox', a.source), field: 'spec.aliases' };
  };

  const config = bundleSchema.safeParse(bundle);
  if (!config.success) {
    for (const issue of config.error.issues) {
      const [section, index, ...rest] = issue.path;
      const text = `${pathText(issue.path)}: ${issue.message}`;
      if (section === 'domains' && typeof index === 'number') {
        const d = bundle.domains[index];
        blame(d && refOfSource('MailDomain', d.source), domainField(rest), text);
      } else if (section === 'mailboxes' && typeof index === 'number') {
        const m = bundle.mailboxes[index];
        blame(m && refOfSource('Mailbox', m.source), m ? mailboxField(m, rest) : 'spec', text);
      } else if (section === 'relays' && typeof index === 'number') {
        const r = bundle.relays[index];
        blame(r && refOfSource('Relay', r.source), relayField(rest), text);
      } else if (section === 'aliases' && typeof index === 'number') {
        const a = aliasRef(bundle.aliases[index]?.address);
        blame(a?.ref, a?.field ?? 'spec', text);
      } else blame(undefined, '', `bundle.json: ${text}`);
    }
  }
  const secretPart = bundleSecretsSchema.safeParse(secrets);
  if (!secretPart.success) {
    for (const issue of secretPart.error.issues) {
      const [section, key] = issue.path;
      const text = `secrets.json: ${pathText(issue.path)}: ${issue.message}`;
      if (section === 'dkimKeys' && typeof key === 'number') blame(domainRef(secrets.dkimKeys[key]?.domain), 'spec.dkim', text);
      else if (section === 'passwords') blame(mailboxRef(String(key)), 'spec.passwordSecretRef', text);
      else if (section === 'webhookKeys') blame(mailboxRef(String(key)), 'spec.delivery.webhook.secretRef', text);
      else if (section === 'relayCredentials') blame(relayRef(String(key)), 'spec.authSecretRef', text);
      else if (section === 'tlsCertificates') blame(tlsOwner(bundle, String(key)), 'spec.tls.secretName', text);
      else blame(undefined, '', text);
    }
  }
  if (config.success && secretPart.success) {
    for (const error of checkReferences(bundle, secrets)) {
      const entry = /^(domains|mailboxes|aliases)\[([^\]]+)\](\.[\w.]+)?:/.exec(error);
      const twice = /^(domains|relays): (\S+) appears twice/.exec(error);
      if (entry?.[1] === 'domains') blame(domainRef(entry[2]), domainField((entry[3] ?? '').split('.').filter(Boolean)), error);
      else if (entry?.[1] === 'mailboxes') {
        const field = /password/.test(error) ? 'spec.passwordSecretRef' : /webhook/.test(error) ? 'spec.delivery.webhook.secretRef' : 'spec.address';
        blame(mailboxRef(entry[2]), field, error);
      } else if (entry?.[1] === 'aliases') {
        const a = aliasRef(entry[2]);
        blame(a?.ref, a?.field ?? 'spec', error);
      } else if (twice?.[1] === 'domains') {
        const last = bundle.domains.findLast((d) => d.domain === twice[2]);
        blame(last && refOfSource('MailDomain', last.source), 'spec.domain', error);
      } else if (twice?.[1] === 'relays') blame(relayRef(twice[2]), 'metadata.name', error);
      else blame(undefined, '', error);
    }
  }
  if (limits && offenders.size === 0 && unattributed.length === 0) {
    for (const o of oversized(bundle, secrets, limits)) blame(o.ref, 'spec', o.message);
  }
  return { offenders: [...offenders.values()], unattributed };
}

/** For each bundle object over the limit, the resource with the largest part in it. */
function oversized(bundle: Bundle, secrets: BundleSecrets, limits: ObjectLimits): { ref: ResourceRef | undefined; message: string }[] {
  const files = encodeBundleFiles(bundle, secrets, limits.shards);
  const out: { ref: ResourceRef | undefined; message: string }[] = [];
  const largest = (parts: [ResourceRef, unknown][]): { ref: ResourceRef; bytes: number } | undefined => {
    const sizes = new Map<string, { ref: ResourceRef; bytes: number }>();
    for (const [ref, value] of parts) {
      const entry = sizes.get(refKey(ref)) ?? { ref, bytes: 0 };
      entry.bytes += JSON.stringify(value).length;
      sizes.set(refKey(ref), entry);
    }
    return [...sizes.values()].sort((a, b) => b.bytes - a.bytes)[0];
  };
  const describe = (object: string, bytes: number, top: { ref: ResourceRef; bytes: number } | undefined) =>
    `${object} would hold ${bytes} bytes, more than the ${limits.maxBytes} a Kubernetes object may` +
    (top ? `; this resource's part is the largest in it (${top.bytes} bytes of JSON)` : '');

  if (files.config.length > limits.maxBytes) {
    const top = largest([
      ...bundle.domains.map((d): [ResourceRef, unknown] => [{ kind: 'MailDomain', ...d.source }, d]),
      ...bundle.mailboxes.map((m): [ResourceRef, unknown] => [{ kind: 'Mailbox', ...m.source }, m]),
      ...bundle.relays.map((r): [ResourceRef, unknown] => [{ kind: 'Relay', ...r.source }, r]),
    ]);
    out.push({ ref: top?.ref, message: describe('the bundle ConfigMap', files.config.length, top) });
  }
  files.secretShards.forEach((shard, i) => {
    if (shard.length <= limits.maxBytes) return;
    const inShard = (key: string) => shardOf(key, limits.shards) === i;
    const parts: [ResourceRef, unknown][] = [];
    const source = (kind: Kind, s: { source: { namespace: string; name: string } } | undefined) => (s ? { kind, ...s.source } : undefined);
    const push = (ref: ResourceRef | undefined, value: unknown) => ref && parts.push([ref, value]);
    const domains = new Map(bundle.domains.map((d) => [d.domain, d]));
    for (const k of secrets.dkimKeys) if (inShard(`dkim:${k.domain}`)) push(source('MailDomain', domains.get(k.domain)), k);
    const mailboxes = new Map(bundle.mailboxes.map((m) => [m.address, m]));
    for (const [a, v] of Object.entries(secrets.passwords)) if (inShard(`password:${a}`)) push(source('Mailbox', mailboxes.get(a)), v);
    for (const [a, v] of Object.entries(secrets.webhookKeys)) if (inShard(`webhook:${a}`)) push(source('Mailbox', mailboxes.get(a)), v);
    const relays = new Map(bundle.relays.map((r) => [r.id, r]));
    for (const [id, v] of Object.entries(secrets.relayCredentials)) if (inShard(`relay:${id}`)) push(source('Relay', relays.get(id)), v);
    for (const [id, v] of Object.entries(secrets.tlsCertificates)) if (inShard(`tls:${id}`)) push(tlsOwner(bundle, id), v);
    const top = largest(parts);
    out.push({ ref: top?.ref, message: describe(`bundle Secret shard ${i} of ${limits.shards}`, shard.length, top) });
  });
  return out;
}

function tlsOwner(bundle: Bundle, id: string): ResourceRef | undefined {
  const d = bundle.domains.find((x) => x.tls?.secretName === id);
  return d ? { kind: 'MailDomain', ...d.source } : undefined;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(root)';
}

function fieldOf(base: string, rest: readonly PropertyKey[]): string {
  return `${base}${rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
}

function domainField(rest: readonly PropertyKey[]): string {
  const [head] = rest;
  if (head === 'mtaSts') return 'spec.dns.mtaSts';
  if (head === 'dkim') return 'spec.dkim';
  if (head === 'tls') return 'spec.tls';
  if (head === 'outbound') return 'spec.outbound.relayRef';
  if (head === 'source' || head === undefined) return 'spec';
  return fieldOf('spec', rest);
}

function mailboxField(m: Bundle['mailboxes'][number], rest: readonly PropertyKey[]): string {
  const [head, sub] = rest;
  if (head === 'delivery') return m.delivery.type === 'local' ? 'spec.delivery' : fieldOf(`spec.delivery.${m.delivery.type}`, sub === undefined ? [] : [sub]);
  if (head === 'address' || head === 'sendAs') return fieldOf('spec', rest);
  return 'spec';
}

function relayField(rest: readonly PropertyKey[]): string {
  const [head] = rest;
  if (head === 'verifyCertificate') return 'spec.insecureSkipVerify';
  if (head === 'auth') return 'spec.authSecretRef';
  if (head === 'id' || head === 'source' || head === undefined) return 'metadata.name';
  return fieldOf('spec', rest);
}
