// Queue operations on deferred mail against a real nats-server and smtp-sink receivers:
// list with filters, hold (no attempts while held), release and retry (attempts at once),
// delete (gone, no DSN), stats.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { retryPolicy, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import {
  deferredStats,
  deleteDeferred,
  hold,
  listDeferred,
  release,
  retryNow,
  showDeferred,
  type OperationsContext,
} from '../../mta/src/delivery/queue-operations.ts';
import { findOrphanBodies } from '../../mta/src/queue/index.ts';
import { acceptedMessage, messageBody, type QueueFixture } from '../queue/queue-fixture.ts';
import { countingObserver, openDeliveryQueue, startTestDelivery, testDir } from './delivery-fixture.ts';

const rcpt = (address: string) => ({ address, params: [] });
const body = Buffer.from('From: <s@senders.test>\r\nSubject: ops\r\n\r\nHello.\r\n');

describe('delivery - queue operations', () => {
  const dir = testDir('queueops');
  let server: NatsServer;
  let q: QueueFixture;
  let delivery: DeliveryHandle;
  let soft: SmtpSink;
  let senders: SmtpSink;
  let ctx: OperationsContext;
  const observer = countingObserver();
  const ids: string[] = [];

  before(async () => {
    server = await startNatsServer({ name: 'nats-queueops' });
    q = await openDeliveryQueue(server.url);
    soft = await startSmtpSink({ host: '127.0.0.3', behaviour: 'defer', dir });
    senders = await startSmtpSink({ host: '127.0.0.6', behaviour: 'accept', dir });
    delivery = await startTestDelivery(
      q,
      {
        'soft.test': { host: soft.host, port: soft.port },
        'other.test': { host: soft.host, port: soft.port },
        'senders.test': { host: senders.host, port: senders.port },
      },
      { policy: retryPolicy({ delaysMs: [60_000] }), observer },
    );
    ctx = { nc: q.nc, streams: delivery.streams };
    for (const to of ['a@soft.test', 'b@soft.test', 'c@other.test']) {
      const m = acceptedMessage({ envelope: { mailFrom: rcpt('s@senders.test'), rcptTo: [rcpt(to)] } });
      ids.push(m.queueId);
      await q.publisher.enqueue(m, body);
    }
    await waitFor('3 deferred', async () => (await deferredStats(ctx)).deferred === 3, { timeoutMs: 20_000 });
  });
  after(async () => {
    await delivery?.stop(2_000);
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('list filters by domain and recipient; show has the state and last reply', async () => {
    assert.equal((await listDeferred(ctx)).entries.length, 3);
    assert.deepEqual((await listDeferred(ctx, { domain: 'soft.test' })).entries.map((e) => e.recipients[0]).sort(), ['a@soft.test', 'b@soft.test']);
    assert.deepEqual(
      (await listDeferred(ctx, { recipient: 'C@other.test' })).entries.map((e) => e.queueId),
      [ids[2]],
    );
    assert.equal((await listDeferred(ctx, { minAgeMs: 3_600_000 })).entries.length, 0);
    const shown = await showDeferred(ctx, ids[0]!);
    assert.equal(shown?.failedAttempts, 1);
    assert.equal(shown?.held, false);
    assert.equal(shown?.lastReplies[0]?.code, 450);
  });

  test('hold stops attempts until release; retry attempts at once', async () => {
    assert.equal(await hold(ctx, ids[0]!), 'done');
    assert.equal((await showDeferred(ctx, ids[0]!))?.held, true);
    const before = observer.get('deferred:mx:soft.test');
    assert.equal(await retryNow(ctx, ids[1]!), 'done');
    await waitFor('the retried message attempted', () => observer.get('deferred:mx:soft.test') === before + 1, { timeoutMs: 10_000 });
    await sleep(1_000);
    assert.equal(observer.get('deferred:mx:soft.test'), before + 1, 'the held message was not attempted');
    assert.equal(await release(ctx, ids[0]!), 'done');
    await waitFor('the released message attempted', () => observer.get('deferred:mx:soft.test') === before + 2, { timeoutMs: 10_000 });
    const released = await showDeferred(ctx, ids[0]!);
    assert.equal(released?.held, false);
    assert.equal(released?.failedAttempts, 2);
  });

  test('delete removes a deferred message without a DSN; unknown ids are reported', async () => {
    assert.equal(await deleteDeferred({ ...ctx, bodyStore: q.bodyStore }, ids[2]!), 'done');
    assert.equal(await showDeferred(ctx, ids[2]!), null);
    assert.equal((await deferredStats(ctx)).deferred, 2);
    assert.equal(await retryNow(ctx, ids[2]!), 'not-deferred');
    await sleep(500);
    assert.equal(senders.count('c@other.test'), 0, 'no DSN for a deleted message');
    await assert.rejects(() => hold(ctx, 'mail.defer.>'), RangeError);
  });

  test('the body of a large deferred message is not an orphan while it waits for a retry', async () => {
    const m = acceptedMessage({ envelope: { mailFrom: rcpt('s@senders.test'), rcptTo: [rcpt('big@soft.test')] } });
    const result = await q.publisher.enqueue(m, messageBody(2 * 1024 * 1024));
    assert.equal(result.bodyKind, 'object');
    await waitFor('the large message deferred', async () => (await showDeferred(ctx, m.queueId)) !== null, { timeoutMs: 20_000 });
    const later = () => Date.now() + 2 * 3_600_000;
    const orphans = await findOrphanBodies({ nc: q.nc, settings: q.settings, bodyStore: q.bodyStore, now: later });
    assert.ok(!orphans.some((o) => o.name === m.queueId), 'a waiting retry keeps its body');
  });
});
