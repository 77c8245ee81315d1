// Pooled relay connections (issue 12 item 8, docs/trust-model.md): the pool key carries the
// relay's identity and a hash of its credentials, so two tenants' relays to one host with one
// user name use two connections, counted at a real SMTP receiver (smtp-server with STARTTLS
// and AUTH); one relay's second message still reuses its own connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { stopAll } from '../harness/process.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { testAttempt, testBundle, testDomain, testMessage, testRelay } from '../transports/transport-fixtures.ts';

let dns: DnsServer;
let receiver: SmtpReceiver;

before(async () => {
  receiver = await startSmtpReceiver({ host: '127.0.0.13', auth: { user: 'shared', pass: 's3cret' } });
  dns = await startDnsServer({ local: ['test'], hosts: { 'smarthost.relay.test': ['127.0.0.13'] } });
});

after(async () => {
  await receiver?.stop();
  await stopAll();
});

test("two tenants' relays to one host with one user name use two connections; each relay reuses its own", async () => {
  const relays = [
    testRelay('tenant-a/smarthost', 'smarthost.relay.test', receiver.port),
    testRelay('tenant-b/smarthost', 'smarthost.relay.test', receiver.port),
  ];
  const config = testBundle(
    { domains: [testDomain('example.test')], relays },
    { relayCredentials: Object.fromEntries(relays.map((r) => [r.id, { username: 'shared', password: 's3cret' }])) },
  );
  const transport = createRemoteSmtpTransport({
    config: () => config,
    resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }),
    relayTlsOptions: { rejectUnauthorized: false },
    connectTimeoutMs: 2_000,
  });
  const send = async (relayId: string, n: number) => {
    const [o] = await transport.deliver(
      testAttempt(
        { kind: 'relay', relayId },
        'alice@example.test',
        ['bob@far.test'],
        testMessage('alice@example.test', 'bob@far.test', `via ${relayId} ${n}`, 'hi\r\n'),
      ),
    );
    assert.equal(o?.status, 'delivered', o?.reason);
  };
  try {
    const before = receiver.connections;
    await send('tenant-a/smarthost', 1);
    await send('tenant-b/smarthost', 1);
    assert.equal(receiver.connections - before, 2, 'one connection per relay, never a shared AUTH session');
    await send('tenant-a/smarthost', 2);
    await send('tenant-b/smarthost', 2);
    assert.equal(receiver.connections - before, 2, 'each relay reuses its own pooled connection');
  } finally {
    transport.close();
  }
});
