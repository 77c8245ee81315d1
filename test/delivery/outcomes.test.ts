// One message, recipients at an accepting, a deferring and a rejecting domain (real smtp-sink
// servers on 127.0.0.x): delivered once to the first, retried for the second on a compressed
// schedule, exactly one DSN for the third, and the DSN parses as multipart/report. Also: a
// server that hangs mid-transaction is deferred without holding anything else up, mail from
// <> never bounces back, and after the lifetime a deferring recipient bounces once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

const body = (id: string) => Buffer.from(`From: <sender@senders.test>\r\nTo: <a@ok.test>\r\nSubject: outcomes\r\nX-Test-Id: ${id}\r\n\r\nHello.\r\n`);
const rcpt = (address: string) => ({ address, params: [] });

describe('delivery - per-recipient outcomes', () => {
  const dir = testDir('outcomes');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  const sinks: Record<string, SmtpSink> = {};
  const observer = countingObserver();

  before(async () => {
    server = await startNatsServer({ name: 'nats-outcomes' });
    q = await openDeliveryQueue(server.url);
    sinks.ok = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir });
    sinks.soft = await startSmtpSink({ host: '127.0.0.3', behaviour: 'defer', dir });
    sinks.hard = await startSmtpSink({ host: '127.0.0.4', behaviour: 'reject', dir });
    sinks.hang = await startSmtpSink({ host: '127.0.0.5', behaviour: 'hang', dir });
    sinks.senders = await startSmtpSink({ host: '127.0.0.6', behaviour: 'accept', dir, name: 'smtp-sink-senders' });
    const route = (s: SmtpSink) => ({ host: s.host, port: s.port });
    delivery = await startTestDelivery(
      q,
      {
        'ok.test': route(sinks.ok),
        'soft.test': route(sinks.soft),
        'hard.test': route(sinks.hard),
        'hang.test': route(sinks.hang),
        'senders.test': route(sinks.senders),
      },
      {
        // Time compressed: retries after 1 s, 2 s, then every 2 s; the lifetime is long here
        // (the expiry test below sends with an old acceptance time instead).
        policy: retryPolicy({ delaysMs: [1_000, 2_000], jitter: 0.1, lifetimeMs: 3_600_000 }),
        observer,
        attemptTimeoutMs: 3_000,
      },
    );
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('accepting, deferring and rejecting domains: once, retried, exactly one DSN that parses', async () => {
    const id = 'mixed-1';
    await q.publisher.enqueue(
      acceptedMessage({
        envelope: { mailFrom: rcpt('sender@senders.test'), rcptTo: [rcpt('a@ok.test'), rcpt('b@soft.test'), rcpt('c@hard.test')] },
      }),
      body(id),
    );

    await waitFor('delivery to ok.test', () => sinks.ok!.count(id) === 1, { timeoutMs: 20_000 });
    await waitFor('the DSN at the sender', () => sinks.senders!.count('Final-Recipient: rfc822; c@hard.test') === 1, { timeoutMs: 20_000 });
    await waitFor('three attempts at soft.test', () => observer.get('deferred:mx:soft.test') >= 3, { timeoutMs: 30_000 });
    await sleep(1_500); // room for a wrong second delivery or DSN to show up
    assert.equal(sinks.ok!.count(id), 1, 'delivered once to the accepting domain, never again on retries');
    const dsns = sinks.senders!.messages().filter((m) => m.includes('c@hard.test'));
    assert.equal(dsns.length, 1, 'exactly one DSN for the rejecting domain');
    assert.ok(!dsns[0]!.includes('Final-Recipient: rfc822; b@soft.test'), 'the deferring recipient is not bounced');
    assert.match(dsns[0]!, /X-Mail-Args: <>\n/, 'the DSN comes from the null sender');

    // An independent MIME parser (Python's email package) reads it as RFC 3464 says.
    const message = dsns[0]!.slice(dsns[0]!.indexOf('From: Mail Delivery System'));
    const parsed = execFileSync(
      'python3',
      [
        '-c',
        `
import email, sys, json
from email import policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
parts = [p.get_content_type() for p in m.iter_parts()]
status = m.get_payload()[1].get_payload()
fields = [dict(s.items()) for s in status]
print(json.dumps({"type": m.get_content_type(), "report": m.get_param("report-type"), "parts": parts, "fields": fields}))
`,
      ],
      { input: message, encoding: 'utf8' },
    );
    const report = JSON.parse(parsed) as { type: string; report: string; parts: string[]; fields: [Record<string, string>, Record<string, string>] };
    assert.equal(report.type, 'multipart/report');
    assert.equal(report.report, 'delivery-status');
    assert.deepEqual(report.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.equal(report.fields[0]['Reporting-MTA'], 'dns; mx.stafette.test');
    assert.equal(report.fields[1]['Final-Recipient'], 'rfc822; c@hard.test');
    assert.equal(report.fields[1]['Action'], 'failed');
    assert.equal(report.fields[1]['Status'], '5.1.1');
    assert.match(report.fields[1]['Diagnostic-Code']!, /^smtp; 550 5\.1\.1 No such user here/);
  });

  test('a server that hangs mid-transaction is deferred; mail to a healthy domain is not held up', async () => {
    const id = 'hang-1';
    await q.publisher.enqueue(acceptedMessage({ envelope: { mailFrom: rcpt('sender@senders.test'), rcptTo: [rcpt('h@hang.test')] } }), body(id));
    await sleep(200);
    const id2 = 'after-hang-1';
    const t0 = Date.now();
    await q.publisher.enqueue(acceptedMessage({ envelope: { mailFrom: rcpt('sender@senders.test'), rcptTo: [rcpt('x@ok.test')] } }), body(id2));
    await waitFor('delivery behind the hung transaction', () => sinks.ok!.count(id2) === 1, { timeoutMs: 10_000 });
    console.log(`# healthy delivery while a transaction hangs: ${Date.now() - t0} ms`);
    await waitFor('the hung attempt deferred', () => observer.get('deferred:mx:hang.test') >= 1, { timeoutMs: 15_000 });
  });

  test('mail from <> that bounces is dropped, never bounced back (no double bounce)', async () => {
    const before = observer.get('dsn:dropped_null_sender');
    await q.publisher.enqueue(acceptedMessage({ envelope: { mailFrom: rcpt(''), rcptTo: [rcpt('n@hard.test')] } }), body('null-1'));
    await waitFor('the double bounce dropped', () => observer.get('dsn:dropped_null_sender') === before + 1, { timeoutMs: 15_000 });
    assert.equal(sinks.senders!.count('n@hard.test'), 0);
  });

  test('after the lifetime a deferring recipient bounces with one "expired" DSN', async () => {
    // Accepted (nearly) an hour ago: the first failure is within the lifetime, a retry after it.
    const receivedAt = new Date(Date.now() - 3_600_000 + 2_000).toISOString();
    await q.publisher.enqueue(
      acceptedMessage({
        receivedAt,
        envelope: { mailFrom: rcpt('sender@senders.test'), rcptTo: [rcpt('late@soft.test')] },
      }),
      body('expire-1'),
    );
    await waitFor('the expiry DSN', () => sinks.senders!.count('Final-Recipient: rfc822; late@soft.test') === 1, { timeoutMs: 30_000 });
    await sleep(3_000);
    const dsn = sinks.senders!.messages().filter((m) => m.includes('late@soft.test'));
    assert.equal(dsn.length, 1);
    assert.match(dsn[0]!, /Status: 4\.3\.0/);
    assert.match(dsn[0]!, /delivery time expired/);
  });
});
