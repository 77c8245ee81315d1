import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleApiVersion, type Bundle, type BundleDomain, type BundleMailbox, type BundleRelay, type DeliveryTarget } from '../../../bundle/schema.ts';
import { destinationKey } from './attempt.ts';
import { createRouter, planRecipients, routeRecipient } from './routing.ts';

const source = { namespace: 'mail', name: 'fixture' };
const options = { localMaildirRoot: '/var/mail' };

function domain(name: string, extra: { catchAll?: string; relay?: string } = {}): BundleDomain {
  return {
    domain: name,
    hostname: `mx.${name}`,
    source,
    dkim: { signing: [], selectors: [] },
    tls: null,
    inbound: { catchAll: extra.catchAll ?? null, maxMessageSize: 1 << 20, maxRecipients: 100, dmarc: 'report' },
    outbound: { relay: extra.relay ?? null },
  };
}
const mailbox = (address: string, delivery: DeliveryTarget = { type: 'local' }): BundleMailbox => ({ address, source, login: false, sendAs: [], delivery });
function relay(id: string, match: Partial<BundleRelay['match']>): BundleRelay {
  return {
    id,
    source,
    host: `${id}.relay.test`,
    port: 587,
    tls: 'starttls',
    auth: true,
    match: { default: false, senderDomains: [], recipientDomains: [], ...match },
    limits: { connections: 2, messagesPerSecond: null },
  };
}
function bundle(parts: Partial<Pick<Bundle, 'domains' | 'mailboxes' | 'aliases' | 'relays'>>): Bundle {
  return { apiVersion: bundleApiVersion, revision: 'r1', domains: [], mailboxes: [], aliases: [], relays: [], ...parts };
}

const base = bundle({
  domains: [domain('example.test', { catchAll: 'postmaster@example.test' }), domain('other.test')],
  mailboxes: [
    mailbox('alice@example.test', { type: 'lmtp', host: '127.0.0.1', port: 24 }),
    mailbox('bob@example.test', { type: 'maildir', path: '/srv/bob' }),
    mailbox('postmaster@example.test'),
    mailbox('hook@example.test', { type: 'webhook', url: 'https://hooks.test/in' }),
    mailbox('fwd@example.test', { type: 'forward', to: ['x@remote.test'], keepCopy: true }),
    mailbox('carol@other.test'),
  ],
  aliases: [
    { address: 'team@example.test', to: ['alice@example.test', 'bob@example.test', 'dave@remote.test'], source },
    { address: 'info@example.test', to: ['team@example.test'], source },
    { address: 'loop1@other.test', to: ['loop2@other.test'], source },
    { address: 'loop2@other.test', to: ['loop1@other.test'], source },
  ],
});

test('a mailbox goes to its delivery target, addressed as the mailbox', () => {
  assert.deepEqual(routeRecipient(base, 's@x.test', 'alice@example.test', options), {
    ok: true,
    targets: [{ destination: { kind: 'lmtp', host: '127.0.0.1', port: 24 }, address: 'alice@example.test' }],
  });
  assert.deepEqual(routeRecipient(base, 's@x.test', 'hook@example.test', options), {
    ok: true,
    targets: [{ destination: { kind: 'webhook', url: 'https://hooks.test/in', mailbox: 'hook@example.test' }, address: 'hook@example.test' }],
  });
});

test('a local target is a maildir under the root named after the address', () => {
  const route = routeRecipient(base, 's@x.test', 'carol@other.test', options);
  assert.deepEqual(route, { ok: true, targets: [{ destination: { kind: 'maildir', path: '/var/mail/carol@other.test' }, address: 'carol@other.test' }] });
});

test('a local part cannot climb out of the maildir root', () => {
  const b = bundle({ domains: [domain('example.test')], mailboxes: [mailbox('../etc@example.test'), mailbox('a/b@example.test')] });
  for (const address of ['../etc@example.test', 'a/b@example.test']) {
    const route = routeRecipient(b, '', address, options);
    assert.ok(route.ok);
    const destination = route.targets[0]!.destination;
    assert.equal(destination.kind, 'maildir');
    if (destination.kind === 'maildir') {
      assert.ok(destination.path.startsWith('/var/mail/'), destination.path);
      assert.equal(destination.path.split('/').length, 4, destination.path);
    }
  }
});

test('forward with keepCopy forwards and keeps a local copy', () => {
  const route = routeRecipient(base, 's@x.test', 'fwd@example.test', options);
  assert.ok(route.ok);
  assert.deepEqual(
    route.targets.map((t) => t.destination),
    [
      { kind: 'forward', to: ['x@remote.test'] },
      { kind: 'maildir', path: '/var/mail/fwd@example.test' },
    ],
  );
});

test('aliases expand recursively to mailboxes and remote addresses', () => {
  const route = routeRecipient(base, 's@x.test', 'info@example.test', options);
  assert.ok(route.ok);
  assert.deepEqual(
    route.targets.map((t) => [t.destination.kind, t.address]),
    [
      ['lmtp', 'alice@example.test'],
      ['maildir', 'bob@example.test'],
      ['mx', 'dave@remote.test'],
    ],
  );
});

test('a +tag resolves to its base address; unknown addresses fall to the catch-all', () => {
  const tagged = routeRecipient(base, '', 'alice+news@example.test', options);
  assert.ok(tagged.ok);
  assert.equal(tagged.targets[0]!.address, 'alice@example.test');
  const unknown = routeRecipient(base, '', 'nobody@example.test', options);
  assert.ok(unknown.ok);
  assert.equal(unknown.targets[0]!.address, 'postmaster@example.test');
});

test('an unknown address without a catch-all is permanent 550 5.1.1', () => {
  const route = routeRecipient(base, '', 'nobody@other.test', options);
  assert.equal(route.ok, false);
  if (!route.ok) {
    assert.equal(route.outcome.status, 'permanent');
    assert.deepEqual([route.outcome.reply.code, route.outcome.reply.enhanced], [550, '5.1.1']);
    assert.equal(route.outcome.recipient, 'nobody@other.test');
  }
});

test('an alias loop is permanent 5.4.6, not an endless expansion', () => {
  const route = routeRecipient(base, '', 'loop1@other.test', options);
  assert.equal(route.ok, false);
  if (!route.ok) assert.equal(route.outcome.reply.enhanced, '5.4.6');
});

test("remote recipients: recipient-domain relay, sender-domain relay, domain relayRef, default relay, else MX, all within the sender domain's namespace", () => {
  const relays = [
    relay('mail/by-rcpt', { recipientDomains: ['partner.test'] }),
    relay('mail/by-sender', { senderDomains: ['other.test'] }),
    relay('mail/named', {}),
    relay('mail/default', { default: true }),
  ];
  const b = bundle({ domains: [domain('example.test', { relay: 'mail/named' }), domain('other.test'), domain('third.test')], relays });
  const via = (sender: string, rcpt: string) => {
    const r = routeRecipient(b, sender, rcpt, options);
    assert.ok(r.ok);
    return r.targets[0]!.destination;
  };
  assert.deepEqual(via('a@other.test', 'x@partner.test'), { kind: 'relay', relayId: 'mail/by-rcpt' });
  assert.deepEqual(via('a@other.test', 'x@far.test'), { kind: 'relay', relayId: 'mail/by-sender' });
  assert.deepEqual(via('a@example.test', 'x@far.test'), { kind: 'relay', relayId: 'mail/named' });
  assert.deepEqual(via('a@third.test', 'x@far.test'), { kind: 'relay', relayId: 'mail/default' });
  // Bounces and mail from senders outside our domains belong to no namespace: direct.
  assert.deepEqual(via('', 'x@far.test'), { kind: 'mx', domain: 'far.test' });
  assert.deepEqual(via('someone@elsewhere.test', 'x@partner.test'), { kind: 'mx', domain: 'partner.test' });
  // Another namespace's relays never carry this namespace's mail.
  const foreign = { ...relay('tenant-b/grab-all', { recipientDomains: ['far.test'], default: true }), source: { namespace: 'tenant-b', name: 'grab-all' } };
  const shared = bundle({ domains: [domain('third.test')], relays: [foreign] });
  const r = routeRecipient(shared, 'a@third.test', 'x@far.test', options);
  assert.deepEqual(r.ok && r.targets[0]!.destination, { kind: 'mx', domain: 'far.test' });
  const noDefault = bundle({ domains: [domain('example.test')], relays: [relay('mail/by-rcpt', { recipientDomains: ['partner.test'] })] });
  const direct = routeRecipient(noDefault, 'a@example.test', 'x@far.test', options);
  assert.deepEqual(direct.ok && direct.targets[0]!.destination, { kind: 'mx', domain: 'far.test' });
});

test('planRecipients groups deliveries by destination and keeps the envelope recipient of each', () => {
  const plan = planRecipients(base, 's@x.test', ['team@example.test', 'alice@example.test', 'y@remote.test', 'nobody@other.test'], options);
  assert.deepEqual(
    plan.groups.map((g) => [g.key, g.deliveries.map((d) => `${d.address}<-${d.envelopeRecipient}`)]),
    [
      ['lmtp:127.0.0.1:24', ['alice@example.test<-team@example.test', 'alice@example.test<-alice@example.test']],
      ['maildir:/srv/bob', ['bob@example.test<-team@example.test']],
      ['mx:remote.test', ['dave@remote.test<-team@example.test', 'y@remote.test<-y@remote.test']],
    ],
  );
  assert.deepEqual(
    plan.unroutable.map((o) => o.recipient),
    ['nobody@other.test'],
  );
});

test('destination keys are distinct per destination', () => {
  assert.notEqual(destinationKey({ kind: 'mx', domain: 'a.test' }), destinationKey({ kind: 'mx', domain: 'b.test' }));
  assert.equal(destinationKey({ kind: 'relay', relayId: 'ns/r' }), 'relay:ns/r');
});

test('the router routes a record with the bundle in force at each call', () => {
  let current = base;
  const route = createRouter(() => current, options);
  const record = {
    listener: 'submission',
    client: { ip: '192.0.2.1', helo: 'c', tls: null, authUser: 's@x.test' },
    envelope: { mailFrom: { address: 's@x.test', params: [] }, rcptTo: [] },
  };
  assert.equal(route(record, ['carol@other.test']).groups[0]!.key, 'maildir:/var/mail/carol@other.test');
  current = bundle({ domains: [domain('other.test')], mailboxes: [mailbox('carol@other.test', { type: 'maildir', path: '/srv/carol' })] });
  assert.equal(route(record, ['carol@other.test']).groups[0]!.key, 'maildir:/srv/carol');
});

test('recipients as received are normalised for lookups; remote addresses go out as written', () => {
  const local = routeRecipient(base, '', 'Alice@EXAMPLE.test.', options);
  assert.ok(local.ok);
  assert.equal(local.targets[0]!.address, 'alice@example.test');
  const remote = routeRecipient(base, 'S@X.TEST', 'Dave.Smith@Bücher.example', options);
  assert.ok(remote.ok);
  assert.deepEqual(remote.targets[0], { destination: { kind: 'mx', domain: 'xn--bcher-kva.example' }, address: 'Dave.Smith@Bücher.example' });
  const bad = routeRecipient(base, '', 'no-at-sign', options);
  assert.deepEqual(bad.ok ? null : [bad.outcome.reply.code, bad.outcome.reply.enhanced, bad.outcome.recipient], [553, '5.1.3', 'no-at-sign']);
});

test("mail that came in unauthenticated on MX never selects a tenant's Relay, whatever its sender claims", () => {
  const b = bundle({ domains: [domain('example.test')], relays: [relay('mail/default', { default: true })] });
  const route = createRouter(() => b, options);
  const client = (authUser: string | null) => ({ ip: '192.0.2.1', helo: 'c', tls: null, authUser });
  const from = { address: 'ceo@example.test', params: [] };
  const mx = route({ listener: 'mx', client: client(null), envelope: { mailFrom: from, rcptTo: [] } }, ['x@far.test']);
  assert.deepEqual(mx.groups[0]!.destination, { kind: 'mx', domain: 'far.test' });
  const submitted = route({ listener: 'submission', client: client('ceo@example.test'), envelope: { mailFrom: from, rcptTo: [] } }, ['x@far.test']);
  assert.deepEqual(submitted.groups[0]!.destination, { kind: 'relay', relayId: 'mail/default' });
  const forwarded = route({ listener: 'forward', client: client(null), envelope: { mailFrom: from, rcptTo: [] } }, ['x@far.test']);
  assert.deepEqual(forwarded.groups[0]!.destination, { kind: 'relay', relayId: 'mail/default' });
});

test('a bounce to our SRS address goes to the original sender; a forged one is an unknown user', () => {
  const srs = () => ({ keys: ['stafette-test-key-1'], now: () => 1_795_000_000_000 });
  const good = routeRecipient(base, '', 'SRS0=aLB/=JH=Sender.Test=Alice@example.test', { ...options, srs });
  assert.ok(good.ok);
  // Computed for example.com in the vectors; the hash covers the original address, not our domain.
  assert.deepEqual(good.targets, [{ destination: { kind: 'mx', domain: 'sender.test' }, address: 'Alice@Sender.Test' }]);
  const forged = routeRecipient(base, '', 'SRS0=AAAA=JH=victim.test=x@example.test', { ...options, srs });
  assert.deepEqual(forged.ok ? null : [forged.outcome.reply.code, forged.outcome.reply.enhanced], [550, '5.1.1']);
  const notBounce = routeRecipient(base, 'spam@far.test', 'SRS0=aLB/=JH=Sender.Test=Alice@example.test', { ...options, srs });
  assert.deepEqual(notBounce.ok ? null : [notBounce.outcome.reply.code, notBounce.outcome.reply.enhanced], [550, '5.7.1']);
});
