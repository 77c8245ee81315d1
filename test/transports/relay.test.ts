// Delivery through a smart host: a real SMTP server (smtp-server) that wants STARTTLS and
// AUTH, or implicit TLS; credentials come from the bundle's secret part.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { planRecipients } from '../../mta/src/delivery/routing.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { stopAll } from '../harness/process.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { testAttempt, testBundle, testDomain, testMessage, testRelay } from './transport-fixtures.ts';

let dns: DnsServer;
let starttls: SmtpReceiver;
let implicit: SmtpReceiver;
let stripped: SmtpReceiver;

before(async () => {
  starttls = await startSmtpReceiver({ host: '127.0.0.10', auth: { user: 'relayuser', pass: 's3cret' } });
  implicit = await startSmtpReceiver({ host: '127.0.0.11', secure: true, auth: { user: 'relayuser', pass: 's3cret' } });
  stripped = await startSmtpReceiver({ host: '127.0.0.12', hide: ['STARTTLS'] });
  dns = await startDnsServer({ local: ['test'], hosts: { 'smarthost.relay.test': ['127.0.0.10'] } });
});

after(async () => {
  await starttls?.stop();
  await implicit?.stop();
  await stripped?.stop();
  await stopAll();
});

function transportFor(relays: ReturnType<typeof testRelay>[], password = 's3cret') {
  const config = testBundle(
    { domains: [testDomain('example.test')], relays },
    { relayCredentials: Object.fromEntries(relays.map((r) => [r.id, { username: 'relayuser', password }])) },
  );
  return {
    config,
    transport: createRemoteSmtpTransport({
      config: () => config,
      resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }),
      // The smart host presents smtp-server's built-in certificate for "localhost".
      relayTlsOptions: { rejectUnauthorized: false },
      connectTimeoutMs: 2_000,
    }),
  };
}

test('routing sends a remote recipient to the default relay, which takes it over STARTTLS with AUTH', async () => {
  const { config, transport } = transportFor([testRelay('mail/smarthost', 'smarthost.relay.test', starttls.port)]);
  const plan = planRecipients(config.bundle, 'alice@example.test', ['bob@far.test'], { localMaildirRoot: '/tmp/none' });
  assert.deepEqual(
    plan.groups.map((g) => g.destination),
    [{ kind: 'relay', relayId: 'mail/smarthost' }],
  );
  const outcomes = await transport.deliver(
    testAttempt(plan.groups[0]!.destination, 'alice@example.test', ['bob@far.test'], testMessage('alice@example.test', 'bob@far.test', 'via relay', 'hi\r\n')),
  );
  transport.close();
  assert.deepEqual(
    outcomes.map((o) => [o.status, o.reply.code]),
    [['delivered', 250]],
  );
  const got = starttls.messages.at(-1)!;
  assert.deepEqual([got.user, got.secure, got.helo, got.to], ['relayuser', true, 'mx.example.test', ['bob@far.test']]);
});

test('a relay with implicit TLS works the same', async () => {
  const { transport } = transportFor([testRelay('mail/tls', '127.0.0.11', implicit.port, { tls: 'implicit' })]);
  const [o] = await transport.deliver(
    testAttempt(
      { kind: 'relay', relayId: 'mail/tls' },
      'alice@example.test',
      ['bob@far.test'],
      testMessage('alice@example.test', 'bob@far.test', 'implicit', 'hi\r\n'),
    ),
  );
  transport.close();
  assert.equal(o!.status, 'delivered');
  assert.equal(implicit.messages.at(-1)!.user, 'relayuser');
});

test('refused credentials defer (4.7.0) rather than bounce: the operator can fix the secret', async () => {
  const { transport } = transportFor([testRelay('mail/smarthost', 'smarthost.relay.test', starttls.port)], 'wrong');
  const [o] = await transport.deliver(
    testAttempt(
      { kind: 'relay', relayId: 'mail/smarthost' },
      'alice@example.test',
      ['bob@far.test'],
      testMessage('alice@example.test', 'bob@far.test', 'bad auth', 'hi\r\n'),
    ),
  );
  transport.close();
  assert.deepEqual([o!.status, o!.reply.enhanced], ['transient', '4.7.0']);
  assert.match(o!.reason, /AUTH failed/);
});

test('a relay configured for STARTTLS that does not offer it is not used in the clear (scenario 39)', async () => {
  const { transport } = transportFor([testRelay('mail/stripped', '127.0.0.12', stripped.port)]);
  const [o] = await transport.deliver(
    testAttempt(
      { kind: 'relay', relayId: 'mail/stripped' },
      'alice@example.test',
      ['bob@far.test'],
      testMessage('alice@example.test', 'bob@far.test', 'stripped', 'hi\r\n'),
    ),
  );
  transport.close();
  assert.deepEqual([o!.status, o!.reply.enhanced], ['transient', '4.4.1']);
  assert.match(o!.reason, /STARTTLS/i);
  assert.equal(stripped.messages.length, 0);
});
