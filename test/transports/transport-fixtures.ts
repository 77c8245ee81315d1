// Shared builders for the transport integration tests: a bundle with DKIM keys and relays,
// queue records and delivery attempts.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { bundleApiVersion, type Bundle, type BundleDomain, type BundleRelay, type BundleSecrets } from '../../bundle/schema.ts';
import type { DeliveryAttempt, Destination } from '../../mta/src/delivery/attempt.ts';
import { newQueueId } from '../../mta/src/queue/queue-id.ts';
import { sha256Hex, type QueueRecord } from '../../mta/src/queue/record.ts';

const source = { namespace: 'mail', name: 'fixture' };

export interface DkimTestKey {
  readonly selector: string;
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
  readonly privateKeyPem: string;
  /** The TXT record text to publish at <selector>._domainkey.<domain>. */
  readonly record: string;
}

export function dkimKey(selector: string, kind: 'rsa' | 'ed25519'): DkimTestKey {
  const { privateKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const p = kind === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
  return {
    selector,
    algorithm: kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=${kind}; p=${p}`,
  };
}

export function testDomain(name: string, keys: readonly DkimTestKey[] = []): BundleDomain {
  return {
    domain: name,
    hostname: `mx.${name}`,
    source,
    dkim: { signing: keys.map((k) => k.selector), selectors: keys.map((k) => ({ selector: k.selector, algorithm: k.algorithm, publicKey: k.record })) },
    tls: null,
    inbound: { catchAll: null, maxMessageSize: 10 << 20, maxRecipients: 100, dmarc: 'report' },
    outbound: { relay: null },
  };
}

export function testRelay(id: string, host: string, port: number, extra: Partial<BundleRelay> = {}): BundleRelay {
  return {
    id,
    source,
    host,
    port,
    tls: 'starttls',
    auth: true,
    match: { default: true, senderDomains: [], recipientDomains: [] },
    limits: { connections: 2, messagesPerSecond: null },
    ...extra,
  };
}

export function testBundle(
  parts: { domains: BundleDomain[]; relays?: BundleRelay[]; mailboxes?: Bundle['mailboxes'] },
  secrets: Partial<BundleSecrets> & { keys?: { domain: string; key: DkimTestKey }[] } = {},
): { bundle: Bundle; secrets: BundleSecrets } {
  return {
    bundle: { apiVersion: bundleApiVersion, revision: 'r1', domains: parts.domains, mailboxes: parts.mailboxes ?? [], aliases: [], relays: parts.relays ?? [] },
    secrets: {
      apiVersion: bundleApiVersion,
      revision: 'r1',
      dkimKeys: (secrets.keys ?? []).map(({ domain, key }) => ({ domain, selector: key.selector, algorithm: key.algorithm, privateKeyPem: key.privateKeyPem })),
      passwords: {},
      relayCredentials: secrets.relayCredentials ?? {},
      webhookKeys: secrets.webhookKeys ?? {},
      tlsCertificates: {},
    },
  };
}

/** A record as intake stores it; by default from an authenticated submission user (the sender). */
export function testRecord(
  from: string,
  to: readonly string[],
  body: Buffer,
  received: { listener: string; authUser: string | null } = { listener: 'submission', authUser: from },
): QueueRecord {
  return {
    v: 1,
    queueId: newQueueId(Date.now()),
    receivedAt: new Date().toISOString().replace(/\.\d{3}Z$/, '.000Z'),
    listener: received.listener,
    client: { ip: '127.0.0.1', helo: 'client.test', tls: null, authUser: received.authUser },
    envelope: { mailFrom: { address: from, params: [] }, rcptTo: to.map((address) => ({ address, params: [] })) },
    body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
  };
}

export function testAttempt(
  destination: Destination,
  from: string,
  recipients: readonly string[],
  body: Buffer,
  signal = AbortSignal.timeout(20_000),
): DeliveryAttempt {
  return { record: testRecord(from, recipients, body), body, destination, recipients: [...recipients], signal };
}

export function testMessage(from: string, to: string, subject: string, text: string): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@stafette.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}`,
    'utf8',
  );
}
