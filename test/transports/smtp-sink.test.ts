// Remote delivery to Postfix's smtp-sink as the receiving MX: the delivered message is
// dumped to a file by the sink; a sink that soft-rejects RCPT gives transient outcomes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { testAttempt, testBundle, testDomain, testMessage } from './transport-fixtures.ts';

let dns: DnsServer;
let sink: SmtpSink;
let transport: RemoteSmtpTransport;

before(async () => {
  const port = await freePort('127.0.0.30');
  const dir = mkdtempSync(join(tmpdir(), 'stafette-transport-sinks-'));
  sink = await startSmtpSink({ host: '127.0.0.30', port, behaviour: 'accept', dir });
  await startSmtpSink({ host: '127.0.0.31', port, behaviour: 'defer', dir });
  dns = await startDnsServer({
    local: ['test'],
    mx: { 'sink.test': [{ exchange: 'mx.sink.test', priority: 5 }], 'defer.test': [{ exchange: 'mx.defer.test', priority: 5 }] },
    hosts: { 'mx.sink.test': ['127.0.0.30'], 'mx.defer.test': ['127.0.0.31'] },
  });
  const config = testBundle({ domains: [testDomain('example.test')] });
  transport = createRemoteSmtpTransport({
    config: () => config,
    resolver: createDnsResolver({ servers: [dns.address] }),
    mxPort: port,
    connectTimeoutMs: 2_000,
  });
});

after(async () => {
  transport?.close();
  await stopAll();
});

test('smtp-sink receives the message with our envelope and EHLO name', async () => {
  const [o] = await transport.deliver(
    testAttempt(
      { kind: 'mx', domain: 'sink.test' },
      'alice@example.test',
      ['bob@sink.test'],
      testMessage('alice@example.test', 'bob@sink.test', 'To the sink', 'Hello sink.\r\n'),
    ),
  );
  assert.deepEqual([o!.status, o!.reply.code], ['delivered', 250]);
  // The sink writes its dump when the transaction ends.
  let dumps: string[] = [];
  for (let i = 0; i < 50 && dumps.length === 0; i++) {
    dumps = sink.messages();
    if (dumps.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(dumps.length, 1);
  assert.match(dumps[0]!, /X-Helo-Args: mx\.example\.test/);
  assert.match(dumps[0]!, /X-Mail-Args: <alice@example\.test>/);
  assert.match(dumps[0]!, /X-Rcpt-Args: <bob@sink\.test>/);
  assert.match(dumps[0]!, /Subject: To the sink/);
});

test("a soft-rejected recipient is transient with the sink's 4xx reply", async () => {
  const [o] = await transport.deliver(
    testAttempt(
      { kind: 'mx', domain: 'defer.test' },
      'alice@example.test',
      ['bob@defer.test'],
      testMessage('alice@example.test', 'bob@defer.test', 'deferred', 'x\r\n'),
    ),
  );
  assert.equal(o!.status, 'transient');
  assert.deepEqual([o!.reply.code, o!.reply.enhanced], [450, '4.3.0']);
  assert.equal(o!.remoteMta, 'mx.defer.test');
});
