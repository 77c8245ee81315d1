// Reading a stored body as a stream (mta/src/queue/body-reader.ts) against a real nats-server:
// a 30 MB body read slowly comes back identical, with a streamed body's prefix in front; a
// record whose sha256 does not match its object errors instead of ending.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { decodeRecord, type DecodedRecord } from '../../mta/src/queue/index.ts';
import { directChunkGetter, openStoredBody } from '../../mta/src/queue/body-reader.ts';
import { bodyStreamName } from '../../mta/src/queue/settings.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('queue - body reader', () => {
  let server: NatsServer;
  let q: QueueFixture;

  before(async () => {
    server = await startNatsServer({ name: 'nats-body-reader' });
    q = await openQueue(server.url);
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  async function enqueued(size: number): Promise<{ body: Buffer; decoded: DecodedRecord }> {
    const body = messageBody(size);
    const result = await q.publisher.enqueue(acceptedMessage(), body);
    const stored = await (await jetstreamManager(q.nc)).streams.getMessage(q.settings.streamName, { seq: result.seq });
    assert.ok(stored);
    return { body, decoded: decodeRecord(stored.data) };
  }
  const openBody = async (decoded: DecodedRecord) =>
    (await openStoredBody(q.bodyStore, q.settings.bodyBucket, directChunkGetter(await jetstreamManager(q.nc), bodyStreamName(q.settings)), decoded)).open();

  test('a 30 MB object body, read slowly, comes back identical', async () => {
    const { body, decoded } = await enqueued(30 * 1024 * 1024);
    assert.equal(decoded.record.body.kind, 'object');
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await openBody(decoded)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes < 2 * 1024 * 1024) await sleep(5); // a slow receiver at first
    }
    assert.equal(bytes, body.length);
    assert.equal(hash.digest('hex'), sha(body));
  });

  test("a streamed body's prefix goes in front of the object", async () => {
    const { body, decoded } = await enqueued(3 * 1024 * 1024);
    assert.equal(decoded.record.body.kind, 'object');
    const prefix = 'Received: from intake\r\n';
    const withPrefix: DecodedRecord = { ...decoded, record: { ...decoded.record, body: { ...decoded.record.body, prefix } } };
    const chunks: Buffer[] = [];
    for await (const chunk of await openBody(withPrefix)) chunks.push(chunk as Buffer);
    assert.equal(sha(Buffer.concat(chunks)), sha(Buffer.concat([Buffer.from(prefix), body])));
  });

  test('a sha256 mismatch errors instead of ending the stream', async () => {
    const { body, decoded } = await enqueued(2 * 1024 * 1024);
    assert.equal(decoded.record.body.kind, 'object');
    const wrong: DecodedRecord = { ...decoded, record: { ...decoded.record, body: { ...decoded.record.body, sha256: '0'.repeat(64) } } };
    let bytes = 0;
    await assert.rejects(async () => {
      for await (const chunk of await openBody(wrong)) bytes += (chunk as Buffer).length;
    }, /does not match its size or sha256/);
    assert.ok(bytes <= body.length, `${bytes} of ${body.length} bytes were handed on`);
  });
});
