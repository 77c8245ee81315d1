// The engine with the production remote-SMTP transport (remote-smtp.ts): MX records from a
// real DNS server (dnsmasq) pointing at real smtp-sink servers on 127.0.0.x, all on one MX
// port. An accepting, a deferring and a rejecting domain in one message: delivered once,
// retried, one DSN (itself delivered through the sender domain's MX).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRouter, retryPolicy, startDelivery, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { minimalBundle } from '../../mta/src/config/load-bundle-fixture.ts';
import { silentLogger } from '../../observability/logger.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, emptyBundle, openDeliveryQueue, testDir } from './delivery-fixture.ts';

const rcpt = (address: string) => ({ address, params: [] });

describe('delivery - end to end with the remote SMTP transport and real DNS', () => {
  const dir = testDir('e2e');
  let server: NatsServer;
  let dns: DnsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let transport: RemoteSmtpTransport;
  const sinks: Record<string, SmtpSink> = {};
  const observer = countingObserver();

  before(async () => {
    server = await startNatsServer({ name: 'nats-e2e' });
    q = await openDeliveryQueue(server.url);
    const mxPort = await freePort('127.0.0.2');
    sinks.ok = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, port: mxPort });
    sinks.soft = await startSmtpSink({ host: '127.0.0.3', behaviour: 'defer', dir, port: mxPort });
    sinks.hard = await startSmtpSink({ host: '127.0.0.4', behaviour: 'reject', dir, port: mxPort });
    sinks.senders = await startSmtpSink({ host: '127.0.0.6', behaviour: 'accept', dir, port: mxPort, name: 'smtp-sink-senders' });
    dns = await startDnsServer(
      {
        local: ['test'],
        mx: {
          'ok.test': [{ exchange: 'mx.ok.test', priority: 10 }],
          'soft.test': [{ exchange: 'mx.soft.test', priority: 10 }],
          'hard.test': [{ exchange: 'mx.hard.test', priority: 10 }],
          'senders.test': [{ exchange: 'mx.senders.test', priority: 10 }],
        },
        hosts: { 'mx.ok.test': ['127.0.0.2'], 'mx.soft.test': ['127.0.0.3'], 'mx.hard.test': ['127.0.0.4'], 'mx.senders.test': ['127.0.0.6'] },
      },
      { logDir: dir },
    );
    const { secrets } = minimalBundle('r1', []);
    transport = createRemoteSmtpTransport({
      config: () => ({ bundle: emptyBundle(), secrets }),
      resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 2_000 }),
      mxPort,
      ehloFallback: 'mx.stafette.test',
      transactionTimeoutMs: 10_000,
      dkim: false,
    });
    delivery = await startDelivery({
      nc: q.nc,
      settings: q.settings,
      publisher: q.publisher,
      bodyStore: q.bodyStore,
      transport,
      route: createRouter(emptyBundle, { localMaildirRoot: '/nonexistent' }),
      hostname: 'mx.stafette.test',
      policy: retryPolicy({ delaysMs: [1_000, 2_000] }),
      observer,
      workers: 4,
      attemptTimeoutMs: 15_000,
      logger: silentLogger,
    });
  });
  after(async () => {
    await delivery?.stop(2_000);
    transport?.close();
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('accepting, deferring and rejecting MX: once, retried, one DSN', { timeout: 90_000 }, async () => {
    await q.publisher.enqueue(
      acceptedMessage({
        envelope: { mailFrom: rcpt('sender@senders.test'), rcptTo: [rcpt('a@ok.test'), rcpt('b@soft.test'), rcpt('c@hard.test')] },
      }),
      Buffer.from('From: <sender@senders.test>\r\nSubject: e2e\r\nX-Test-Id: e2e-1.\r\n\r\nHello.\r\n'),
    );
    await waitFor('delivered to ok.test', () => sinks.ok!.count('e2e-1.') === 1, { timeoutMs: 30_000 });
    await waitFor('one DSN', () => sinks.senders!.count('Final-Recipient: rfc822; c@hard.test') === 1, { timeoutMs: 30_000 });
    await waitFor('retried at soft.test', () => observer.get('deferred:mx:soft.test') >= 3, { timeoutMs: 30_000 });
    await sleep(1_000);
    assert.equal(sinks.ok!.count('e2e-1.'), 1);
    assert.equal(sinks.senders!.count('c@hard.test'), 1);
    assert.equal(sinks.senders!.count('b@soft.test'), 0);
  });
});
