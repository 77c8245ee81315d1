// A small bundle for the policy unit tests: example.com (no catch-all, 3 recipients, 10 kB),
// catchall.example (catch-all), and bücher.example in its xn-- form.
import type { Bundle, BundleDomain } from '../../../bundle/schema.ts';

const source = { namespace: 'default', name: 'test' };

function domain(name: string, inbound: Partial<BundleDomain['inbound']> = {}): BundleDomain {
  return {
    domain: name,
    hostname: `mx.${name}`,
    source,
    dkim: { signing: [], selectors: [] },
    tls: null,
    inbound: { catchAll: null, maxMessageSize: 10_000, maxRecipients: 3, dmarc: 'report', ...inbound },
    outbound: { relay: null },
  };
}

export const policyBundle: Bundle = {
  apiVersion: 'stafette.dev/bundle/v1',
  revision: 'test',
  domains: [
    domain('example.com'),
    domain('catchall.example', { catchAll: 'alice@example.com', maxMessageSize: 50_000, maxRecipients: 50 }),
    domain('xn--bcher-kva.example'),
  ],
  mailboxes: [
    { address: 'alice@example.com', source, login: true, sendAs: ['@catchall.example', 'Shared@Example.com'], delivery: { type: 'local' } },
    { address: 'bob@example.com', source, login: true, sendAs: [], delivery: { type: 'local' } },
    { address: 'info@xn--bcher-kva.example', source, login: false, sendAs: [], delivery: { type: 'local' } },
  ],
  aliases: [
    { address: 'team@example.com', to: ['alice@example.com', 'bob@example.com'], source },
    { address: 'postmaster@example.com', to: ['alice@example.com'], source },
  ],
  relays: [],
};
