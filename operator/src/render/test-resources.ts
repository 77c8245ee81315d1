// Builders of resources for render()'s tests: small, explicit, and only what a test
// needs to state. Not used outside tests.
import type { DeliveryTargetPolicy } from '../../../bundle/delivery-targets.ts';
import {
  apiVersion,
  secretUseLabel,
  type SecretUse,
  type MailDomain,
  type MailDomainSpec,
  type Mailbox,
  type MailboxSpec,
  type Relay,
  type RelaySpec,
} from '../../../crds/src/index.ts';
import type { DkimKeyMaterial, RenderInput, SecretObject } from './input.ts';

let clock = 0;
/** Increasing creation times, so "older" is the order resources are built in. */
function created(): string {
  clock += 1;
  return new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString();
}

export function domain(name: string, spec: MailDomainSpec, namespace = 'mail'): MailDomain {
  return { apiVersion, kind: 'MailDomain', metadata: { name, namespace, creationTimestamp: created() }, spec };
}

export function mailbox(name: string, spec: MailboxSpec, namespace = 'mail'): Mailbox {
  return { apiVersion, kind: 'Mailbox', metadata: { name, namespace, creationTimestamp: created() }, spec };
}

export function relay(name: string, spec: RelaySpec, namespace = 'mail'): Relay {
  return { apiVersion, kind: 'Relay', metadata: { name, namespace, creationTimestamp: created() }, spec };
}

/** A Secret marked for `use` (label stafette.dev/secret-use), or unmarked with null. */
export function secret(name: string, stringData: Record<string, string>, use: SecretUse | null, namespace = 'mail'): SecretObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, ...(use ? { labels: { [secretUseLabel]: use } } : {}) }, stringData };
}

/** A stand-in key: render only copies key material, it never parses it. */
export function key(domainName: string, selector: string, algorithm: DkimKeyMaterial['algorithm'] = 'rsa-sha256'): DkimKeyMaterial {
  return {
    domain: domainName,
    selector,
    algorithm,
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${selector}@${domainName}\n-----END PRIVATE KEY-----\n`,
    publicKey: Buffer.from(`${algorithm}:${selector}@${domainName}`).toString('base64'),
  };
}

/** A deterministic stand-in for the scrypt hasher, so outputs are comparable. */
export function plainHash(address: string, password: string): string {
  return `$test$${address}$${password}`;
}

/** Delivery-target allow-lists that admit the targets these tests use (LMTP host dovecot, maildirs under /var/mail). */
export const testDeliveryTargets: DeliveryTargetPolicy = { lmtpHosts: ['dovecot'], maildirRoot: '/var/mail', webhookAllowNetworks: [] };

export function input(parts: Partial<RenderInput>): RenderInput {
  return { domains: [], mailboxes: [], relays: [], secrets: [], dkimKeys: [], hashPassword: plainHash, deliveryTargets: testDeliveryTargets, ...parts };
}
