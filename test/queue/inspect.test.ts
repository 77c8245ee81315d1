// `stafette queue stats|list|show` read functions against a real nats-server: correct
// figures, and reading never consumes, acks or redelivers anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { deleteBody, findOrphanBodies, listQueue, newQueueId, queueStats, showQueued, type AcceptedMessage } from '../../mta/src/queue/index.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

describe('queue - inspect', () => {
  let server: NatsServer;
  let q: QueueFixture;
  const messages: AcceptedMessage[] = [];
  const sizes = [1200, 2 * 1024 * 1024, 300];
  const now = () => Date.parse('2030-01-01T00:00:00Z');

  before(async () => {
    server = await startNatsServer({ name: 'nats-inspect' });
    q = await openQueue(server.url);
    for (const [i, size] of sizes.entries()) {
      const m = acceptedMessage({
        receivedAt: `2029-12-31T23:5${i}:00.000Z`,
        envelope: {
          mailFrom: { address: `sender${i}@example.com`, params: [] },
          rcptTo: [
            { address: `a${i}@example.org`, params: [] },
            { address: `b${i}@example.net`, params: [] },
          ],
        },
      });
      messages.push(m);
      await q.publisher.enqueue(m, messageBody(size));
    }
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('stats reports depth, bytes, consumer pending and body bytes', async () => {
    const stats = await queueStats(q);
    assert.equal(stats.stream.name, 'MAILQ');
    assert.equal(stats.stream.messages, 3);
    assert.ok(stats.stream.bytes > sizes[0]! + sizes[2]!);
    assert.ok(stats.stream.oldest);
    assert.deepEqual(stats.consumer, { name: 'delivery', pending: 3, ackPending: 0, redelivered: 0, waitingPulls: 0 });
    assert.ok(stats.bodies && stats.bodies.bytes >= sizes[1]!);
  });

  test('list shows every job, oldest first, with sender, recipients, size and age', async () => {
    const { entries, problems, nextSeq } = await listQueue({ ...q, now });
    assert.deepEqual(problems, []);
    assert.equal(nextSeq, null);
    assert.deepEqual(
      entries.map((e) => e.queueId),
      messages.map((m) => m.queueId),
    );
    assert.deepEqual(
      entries.map((e) => e.size),
      sizes,
    );
    assert.deepEqual(
      entries.map((e) => e.bodyKind),
      ['inline', 'object', 'inline'],
    );
    assert.equal(entries[1]!.sender, 'sender1@example.com');
    assert.deepEqual(entries[1]!.recipients, ['a1@example.org', 'b1@example.net']);
    assert.equal(entries[0]!.ageMs, 10 * 60_000);
  });

  test('list pages with limit and fromSeq', async () => {
    const first = await listQueue(q, { limit: 2 });
    assert.equal(first.entries.length, 2);
    assert.ok(first.nextSeq);
    const rest = await listQueue(q, { fromSeq: first.nextSeq });
    assert.deepEqual(
      rest.entries.map((e) => e.queueId),
      [messages[2]!.queueId],
    );
  });

  test('show gives one record with its body size and where the body lives', async () => {
    const shown = await showQueued(q, messages[1]!.queueId);
    assert.ok(shown);
    assert.equal(shown.record.queueId, messages[1]!.queueId);
    assert.deepEqual(shown.record.envelope, messages[1]!.envelope);
    assert.equal(shown.bodySize, sizes[1]);
    assert.match(shown.bodyLocation, /object store bucket mailbody/);
    assert.equal(shown.bodyPresent, true);
    const inline = await showQueued(q, messages[0]!.queueId);
    assert.match(inline!.bodyLocation, /inline/);
    assert.equal(await showQueued(q, newQueueId(Date.now())), null);
    await assert.rejects(showQueued(q, 'mail.queue.>'), RangeError);
  });

  test('a job that cannot be decoded is reported, not skipped and not fatal', async () => {
    await jetstream(q.nc).publish('mail.queue.job.BROKEN', 'not a record');
    const { entries, problems } = await listQueue(q);
    assert.equal(entries.length, 3);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.subject, 'mail.queue.job.BROKEN');
  });

  test('reading consumed nothing: the consumer still has every job, and delivery can take them', async () => {
    const stats = await queueStats(q);
    assert.equal(stats.stream.messages, 4);
    assert.deepEqual(stats.consumer, { name: 'delivery', pending: 4, ackPending: 0, redelivered: 0, waitingPulls: 0 });

    const consumer = await jetstream(q.nc).consumers.get('MAILQ', 'delivery');
    const msg = await consumer.next({ expires: 5000 });
    assert.ok(msg);
    assert.equal(msg.info.redelivered, false);
    await msg.ackAck();
    const afterAck = await listQueue(q);
    assert.equal(afterAck.entries.length + afterAck.problems.length, 3);
    assert.equal((await queueStats(q)).stream.messages, 3);
  });
});

describe('queue - orphan bodies', () => {
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

  test('a body without a job is found once old enough, and can be deleted; queued bodies are not', async () => {
    const queued = acceptedMessage();
    await q.publisher.enqueue(queued, messageBody(2 * 1024 * 1024));
    const orphanName = newQueueId(Date.now());
    await q.bodyStore.putBlob({ name: orphanName }, messageBody(2 * 1024 * 1024));

    const search = { ...q, minAgeMs: 3_600_000 };
    assert.deepEqual(await findOrphanBodies(search), [], 'fresh bodies are never orphans');
    const later = () => Date.now() + 2 * 3_600_000;
    const orphans = await findOrphanBodies({ ...search, now: later });
    assert.deepEqual(
      orphans.map((o) => o.name),
      [orphanName],
    );

    await deleteBody(q.bodyStore, orphanName);
    assert.deepEqual(await findOrphanBodies({ ...search, now: later }), []);
    assert.equal((await showQueued(q, queued.queueId))?.bodyPresent, true);
  });
});
