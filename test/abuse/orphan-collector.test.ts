// The orphan-body collector (docs/reliability.md "Limits") against a real nats-server: a body
// whose job never arrived (a pod died between the two writes) is deleted once past the grace
// period; a body whose job is queued is kept; nothing younger than the grace period is touched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newQueueId } from '../../mta/src/queue/index.ts';
import { startOrphanCollector } from '../../mta/src/queue/orphan-collector.ts';
import { silentLogger } from '../../observability/logger.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from '../queue/queue-fixture.ts';

describe('abuse - orphaned bodies are collected', () => {
  let server: NatsServer;
  let q: QueueFixture;
  before(async () => {
    server = await startNatsServer({ name: 'nats-orphans' });
    q = await openQueue(server.url);
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a body with no job is deleted after the grace period; a queued one is kept', { timeout: 30_000 }, async () => {
    const orphan = newQueueId(Date.now());
    await q.bodyStore.put({ name: orphan }, new Blob([messageBody(2 * 1024 * 1024)]).stream());
    const queued = acceptedMessage();
    assert.equal((await q.publisher.enqueue(queued, messageBody(2 * 1024 * 1024))).bodyKind, 'object');

    const counted: number[] = [];
    const young = startOrphanCollector({ nc: q.nc, settings: q.settings, bodyStore: q.bodyStore, logger: silentLogger, collected: (n) => counted.push(n) });
    assert.equal(await young.collect(), 0, 'within the grace period nothing is collected');
    young.stop();

    const later = startOrphanCollector({ nc: q.nc, settings: q.settings, bodyStore: q.bodyStore, logger: silentLogger, now: () => Date.now() + 2 * 3_600_000 });
    assert.equal(await later.collect(), 1);
    later.stop();
    assert.equal((await q.bodyStore.info(orphan))?.deleted ?? true, true, 'the orphan is gone');
    assert.notEqual(await q.bodyStore.info(queued.queueId), null, 'the queued message keeps its body');
    assert.deepEqual(counted, [0]);
  });
});
