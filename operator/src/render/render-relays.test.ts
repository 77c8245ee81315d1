// render() as a specification: each rule of the bundle, each way a resource can be
// wrong, and what stays served when one is. This file: Relays
// (matches, namespaces, credentials).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { render } from './render.ts';
import { domain, input, relay, secret } from './test-resources.ts';
import { alice, assertLoadable, exampleCom, only, reasons } from './render-expectations.ts';

describe('relays', () => {
  const creds = secret('relay-auth', { username: 'u', password: 'p' }, 'relay-auth');

  test('a relay with credentials, matches and limits', () => {
    const r = relay('smart', { host: 'smtp.relay.example', authSecretRef: { name: 'relay-auth' }, match: { recipientDomains: ['partner.example'] } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [r], secrets: [creds] }));
    assert.deepEqual(result.bundle.relays, [
      {
        id: 'mail/smart',
        source: { namespace: 'mail', name: 'smart' },
        host: 'smtp.relay.example',
        port: 587,
        tls: 'starttls',
        auth: true,
        match: { default: false, senderDomains: [], recipientDomains: ['partner.example'] },
        limits: { connections: 10, messagesPerSecond: null },
      },
    ]);
    assert.deepEqual(result.secrets.relayCredentials, { 'mail/smart': { username: 'u', password: 'p' } });
    assertLoadable(result);
  });

  test('relay matches that overlap another relay are reported on the newer relay', () => {
    const a = relay('a', { host: 'a.example', default: true, match: undefined });
    const b = relay('b', { host: 'b.example', match: { recipientDomains: ['partner.example'], senderDomains: ['example.com'] } });
    const c = relay('c', { host: 'c.example', default: true });
    const d = relay('d', { host: 'd.example', match: { recipientDomains: ['partner.example'], senderDomains: ['example.com'] } });
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [a, b, c, d] }));
    assert.deepEqual(reasons(result), [
      'Relay c spec.default RelayConflict',
      'Relay d spec.match.senderDomains[0] RelayConflict',
      'Relay d spec.match.recipientDomains[0] RelayConflict',
    ]);
    assert.deepEqual(
      result.bundle.relays.map((r) => [r.id, r.match.default, r.match.recipientDomains]),
      [
        ['mail/a', true, []],
        ['mail/b', false, ['partner.example']],
        ['mail/c', false, []],
        ['mail/d', false, []],
      ],
    );
  });

  test("relays in different namespaces do not overlap: each routes its own namespace's mail", () => {
    const a = relay('a', { host: 'a.example', default: true }, 'one');
    const b = relay('b', { host: 'b.example', default: true }, 'two');
    assert.deepEqual(reasons(render(input({ relays: [a, b] }))), []);
  });

  test("a relay cannot capture the outgoing mail of another namespace's domain", () => {
    const r = relay('r', { host: 'r.example', match: { senderDomains: ['example.com'] } }, 'tenant-b');
    const result = render(input({ domains: [exampleCom()], mailboxes: [alice()], relays: [r] }));
    assert.equal(only(result, 'SenderDomainNotOwned').name, 'r');
  });

  test("a MailDomain's relayRef must name an existing Relay and wins over a Relay's senderDomains", () => {
    const pinned = domain('example-com', { domain: 'example.com', outbound: { relayRef: { name: 'smart' } } });
    const smart = relay('smart', { host: 'smart.example', match: { recipientDomains: ['x.example'] } });
    const other = relay('other', { host: 'other.example', match: { senderDomains: ['example.com'] } });
    const result = render(input({ domains: [pinned], relays: [smart, other] }));
    assert.equal(result.bundle.domains[0]?.outbound.relay, 'mail/smart');
    assert.equal(only(result, 'RelayConflict').name, 'other');

    const dangling = render(input({ domains: [domain('d', { domain: 'example.com', outbound: { relayRef: { name: 'absent' } } })] }));
    assert.equal(only(dangling, 'RelayNotFound').field, 'spec.outbound.relayRef');
    assert.equal(dangling.bundle.domains[0]?.outbound.relay, null);
  });

  test('missing relay credentials are reported and the relay is kept, so its mail waits instead of leaving another way', () => {
    const r = relay('smart', { host: 'smtp.relay.example', default: true, authSecretRef: { name: 'absent' } });
    const result = render(input({ relays: [r] }));
    assert.equal(only(result, 'RelayCredentialsNotFound').field, 'spec.authSecretRef');
    assert.equal(result.bundle.relays[0]?.auth, true);
    assert.deepEqual(result.secrets.relayCredentials, {});
  });
});
