// NATS outages against a real nats-server that is stopped and started again on the same
// port and store: intake fails with a transient 451 (never success), readiness follows,
// the client reconnects by itself, and what was queued before is still there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { createPublisher, createQueueReadiness, decodeRecord, isQueueError, jobSubject, type QueueReadiness } from '../../mta/src/queue/index.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

describe('queue - NATS outage', () => {
  let server: NatsServer;
  let q: QueueFixture;
  let readiness: QueueReadiness;
  const earlier = acceptedMessage();
  const earlierBody = messageBody(4000);
  let reconnectAttempts = 0;

  before(async () => {
    server = await startNatsServer({ name: 'nats-outage' });
    q = await openQueue(server.url);
    readiness = createQueueReadiness({ nc: q.nc, settings: q.settings, watch: q.watch });
    void (async () => {
      for await (const s of q.nc.status()) if (s.type === 'reconnecting') reconnectAttempts++;
    })();
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('before the outage: ready, and a message is queued', async () => {
    await q.publisher.enqueue(earlier, earlierBody);
    assert.deepEqual(await readiness.check(), { ready: true, reason: null });
  });

  test('nats-server stopped: not ready, and enqueue fails with a transient 451 within its budget', async () => {
    await server.stop();
    await waitFor('the client to notice the disconnect', () => !q.watch.connected, { timeoutMs: 20_000 });
    const state = await readiness.check();
    assert.equal(state.ready, false);
    assert.match(state.reason ?? '', /not connected/);

    await assert.rejects(q.publisher.enqueue(acceptedMessage(), messageBody(1000)), (err: unknown) => {
      assert.ok(isQueueError(err), `expected a QueueError, got ${String(err)}`);
      assert.equal(err.kind, 'unavailable');
      assert.equal(err.transient, true);
      assert.deepEqual([err.reply.code, err.reply.enhanced], [451, '4.3.0']);
      assert.doesNotMatch(err.reply.text, /nats|jetstream|stream/i, 'the client sees no internals');
      return true;
    });
  });

  test('nats-server back on the same port and store: reconnects by itself, ready, enqueue works, nothing lost', async () => {
    // nats.js by default gives up after 10 reconnect attempts and closes the client for good;
    // stay down past that, so this shows the client keeps trying (maxReconnectAttempts -1).
    await waitFor('more reconnect attempts than the nats.js default allows', () => reconnectAttempts > 12, { timeoutMs: 60_000 });
    assert.equal(q.nc.isClosed(), false);
    await server.start();
    await waitFor('the queue to be ready again', async () => (await readiness.check()).ready, { timeoutMs: 30_000 });
    assert.equal(q.watch.connected, true);

    const later = await q.publisher.enqueue(acceptedMessage(), messageBody(1000));
    assert.equal(later.duplicate, false);

    const jsm = await jetstreamManager(q.nc);
    const stored = await jsm.streams.getMessage(q.settings.streamName, { last_by_subj: jobSubject(q.settings, earlier.queueId) });
    assert.ok(stored, 'the message queued before the outage is still there');
    const decoded = decodeRecord(stored.data);
    assert.deepEqual(decoded.record.envelope, earlier.envelope);
    assert.deepEqual(Buffer.from(decoded.inlineBody!), earlierBody);
  });

  test('nats-server killed during a 30 MB upload: the enqueue never reports success for a job that is not stored', async () => {
    const message = acceptedMessage();
    const jsm = await jetstreamManager(q.nc);
    const bodiesBefore = (await jsm.streams.info('OBJ_mailbody')).state.bytes;
    // A short budget keeps the test quick; the invariant below holds for any budget.
    const publisher = createPublisher({
      nc: q.nc,
      settings: q.settings,
      bodyStore: q.bodyStore,
      isConnected: () => q.watch.connected,
      budgetMs: 3000,
      bodyBytesPerSecond: 64 * 1024 * 1024,
    });
    const outcome: Promise<unknown> = publisher.enqueue(message, messageBody(30 * 1024 * 1024)).catch((err: unknown) => err);
    await waitFor('the body upload to start', async () => (await jsm.streams.info('OBJ_mailbody')).state.bytes > bodiesBefore, { intervalMs: 20 });
    await server.stop('SIGKILL');
    const result = await outcome;
    await server.start();
    await waitFor('the queue to be ready again', async () => (await readiness.check()).ready, { timeoutMs: 30_000 });
    const stored = await jsm.streams.getMessage(q.settings.streamName, { last_by_subj: jobSubject(q.settings, message.queueId) });
    if (isQueueError(result)) {
      assert.equal(result.transient, true);
      assert.equal(result.reply.code, 451);
    } else {
      // The upload finished before the kill: then the job must have survived it.
      assert.ok(stored, `enqueue reported success (${JSON.stringify(result)}) but the job is not in the stream`);
    }
  });
});
