// `stafette queue deferred|hold|release|retry|delete` as an operator runs them (./bin/stafette),
// against a real nats-server with a message deferred by a real deferring smtp-sink.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { deferredStats, retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

const bin = fileURLToPath(new URL('../../bin/stafette', import.meta.url));

function stafette(...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

describe('stafette queue deferred|hold|release|retry|delete', () => {
  const dir = testDir('queue-cli');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let queueId: string;

  before(async () => {
    server = await startNatsServer({ name: 'nats-queue-cli' });
    q = await openDeliveryQueue(server.url);
    const soft = await startSmtpSink({ host: '127.0.0.3', behaviour: 'defer', dir });
    delivery = await startTestDelivery(q, { 'soft.test': { host: soft.host, port: soft.port } }, { policy: retryPolicy({ delaysMs: [60_000] }) });
    const m = acceptedMessage({ envelope: { mailFrom: { address: 's@a.test', params: [] }, rcptTo: [{ address: 'bob@soft.test', params: [] }] } });
    queueId = m.queueId;
    await q.publisher.enqueue(m, Buffer.from('Subject: cli\r\n\r\nHello.\r\n'));
    await waitFor('deferred', async () => (await deferredStats({ nc: q.nc, streams: delivery.streams })).deferred === 1, { timeoutMs: 20_000 });
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('deferred lists the message with its last reply; filters apply', async () => {
    const text = await stafette('queue', 'deferred', '--nats', server.url);
    assert.equal(text.status, 0, text.out);
    assert.match(text.out, /deferred: 1 {2}due now: 0/);
    assert.ok(text.out.includes(queueId));
    assert.match(text.out, /<bob@soft\.test> {2}450 4\.3\.0 Try again later/);
    const json = JSON.parse((await stafette('queue', 'deferred', '--json', '--domain', 'soft.test', '--nats', server.url)).out) as {
      entries: { queueId: string }[];
    };
    assert.deepEqual(
      json.entries.map((e: { queueId: string }) => e.queueId),
      [queueId],
    );
    const none = JSON.parse((await stafette('queue', 'deferred', '--json', '--older-than', '1h', '--nats', server.url)).out) as { entries: unknown[] };
    assert.equal(none.entries.length, 0);
  });

  test('hold, release, retry and delete act on it; a bad id is an error', async () => {
    for (const action of ['hold', 'release', 'retry']) {
      const r = await stafette('queue', action, queueId, '--nats', server.url);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`${queueId}: ${action} done`));
      // release and retry make it due at once: wait until it is deferred again.
      await waitFor('deferred again', async () => (await deferredStats({ nc: q.nc, streams: delivery.streams })).deferred === 1, { timeoutMs: 20_000 });
    }
    const del = await stafette('queue', 'delete', queueId, '--nats', server.url);
    assert.equal(del.status, 0, del.out);
    const again = await stafette('queue', 'hold', queueId, '--nats', server.url);
    assert.equal(again.status, 1);
    assert.match(again.out, /not deferred/);
    const bad = await stafette('queue', 'hold', 'mail.>', '--nats', server.url);
    assert.equal(bad.status, 1);
    assert.match(bad.out, /not a queue id/);
  });
});
