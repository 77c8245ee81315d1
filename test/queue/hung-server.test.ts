// NATS that hangs instead of going away (SIGSTOP: the TCP connection stays up, nothing
// answers), the "slow or partitioned" case of docs/reliability.md §3 scenario 16: readiness fails
// and intake answers 451 within its budget, never success; after SIGCONT it recovers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { createPublisher, createQueueReadiness, isQueueError, type QueueReadiness } from '../../mta/src/queue/index.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

describe('queue - hung nats-server', () => {
  let server: NatsServer;
  let q: QueueFixture;
  let readiness: QueueReadiness;

  before(async () => {
    server = await startNatsServer({ name: 'nats-hung' });
    q = await openQueue(server.url);
    readiness = createQueueReadiness({ nc: q.nc, settings: q.settings, watch: q.watch, probeTimeoutMs: 1000 });
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a server that stops answering: not ready, and enqueue fails with 451, never success', async () => {
    assert.equal((await readiness.check()).ready, true);
    server.signal('SIGSTOP');
    try {
      const state = await readiness.check();
      assert.equal(state.ready, false);
      assert.match(state.reason ?? '', /did not answer|not connected/);

      const publisher = createPublisher({
        nc: q.nc,
        settings: q.settings,
        bodyStore: q.bodyStore,
        isConnected: () => q.watch.connected,
        attemptTimeoutMs: 1000,
        budgetMs: 3000,
      });
      await assert.rejects(publisher.enqueue(acceptedMessage(), messageBody(1000)), (err: unknown) => {
        assert.ok(isQueueError(err), `expected a QueueError, got ${String(err)}`);
        assert.equal(err.kind, 'unavailable');
        assert.equal(err.reply.code, 451);
        return true;
      });
    } finally {
      server.signal('SIGCONT');
    }
  });

  test('once the server answers again, the queue is ready and takes mail', async () => {
    await waitFor('the queue to be ready again', async () => (await readiness.check()).ready, { timeoutMs: 30_000 });
    const result = await q.publisher.enqueue(acceptedMessage(), messageBody(1000));
    assert.equal(result.duplicate, false);
  });
});
