// A small consistent bundle for tests (bundle/check.test.ts, fuzz/bundle.fuzz.ts): one domain
// with a catch-all and a default relay, one mailbox with a login, one alias. Not used outside tests.
import { bundleApiVersion, type Bundle, type BundleSecrets } from './schema.ts';

/** A fresh copy each call, so a test may mutate it; `passwordHash` is alice@example.com's. */
export function validTestBundle(passwordHash: string): { bundle: Bundle; secrets: BundleSecrets } {
  const source = { namespace: 'mail', name: 'x' };
  return {
    bundle: {
      apiVersion: bundleApiVersion,
      revision: 'r1',
      domains: [
        {
          domain: 'example.com',
          hostname: 'mx.example.com',
          source,
          dkim: { signing: ['s1'], selectors: [{ selector: 's1', algorithm: 'rsa-sha256', publicKey: 'AAAA' }] },
          tls: null,
          inbound: { catchAll: 'alice@example.com', maxMessageSize: 1000, maxRecipients: 10, dmarc: 'report' },
          outbound: { relay: 'mail/smart' },
        },
      ],
      mailboxes: [{ address: 'alice@example.com', source, login: true, sendAs: [], delivery: { type: 'local' } }],
      aliases: [{ address: 'postmaster@example.com', to: ['alice@example.com', 'friend@elsewhere.example'], source }],
      relays: [
        {
          id: 'mail/smart',
          source,
          host: 'smtp.example.net',
          port: 587,
          tls: 'starttls',
          auth: false,
          match: { default: true, senderDomains: [], recipientDomains: [] },
          limits: { connections: 1, messagesPerSecond: null },
        },
      ],
    },
    secrets: {
      apiVersion: bundleApiVersion,
      revision: 'r1',
      dkimKeys: [{ domain: 'example.com', selector: 's1', algorithm: 'rsa-sha256', privateKeyPem: 'PEM' }],
      passwords: { 'alice@example.com': passwordHash },
      relayCredentials: {},
      webhookKeys: {},
      tlsCertificates: {},
    },
  };
}
