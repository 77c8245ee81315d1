// Enqueue against a real nats-server: inline and Object Store bodies come back identical,
// a retried publish is stored once, and a full stream is a 452, not a lost message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { decodeRecord, encodeRecord, isQueueError, jobSubject, loadBody, recordVersion } from '../../mta/src/queue/index.ts';
import { sha256Hex } from '../../mta/src/queue/record.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from './queue-fixture.ts';

describe('queue - enqueue', () => {
  let server: NatsServer;
  let q: QueueFixture;

  before(async () => {
    server = await startNatsServer({ name: 'nats-enqueue' });
    q = await openQueue(server.url);
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a small message is stored inline, byte-identical, on its job subject', async () => {
    const body = Buffer.concat([messageBody(2000), Buffer.from([0, 13, 10, 0xff, 0xfe, 46, 13, 10])]);
    const message = acceptedMessage({
      envelope: {
        mailFrom: {
          address: '"odd \\" local"@bücher.example',
          params: [
            { name: 'ENVID', value: 'x"y\r\nz😀' },
            { name: 'SMTPUTF8', value: null },
          ],
        },
        rcptTo: [{ address: 'rcpt@example.org', params: [{ name: 'ORCPT', value: `rfc822;${'p'.repeat(5000)}` }] }],
      },
    });
    const result = await q.publisher.enqueue(message, body);
    assert.equal(result.bodyKind, 'inline');
    assert.equal(result.duplicate, false);

    const jsm = await jetstreamManager(q.nc);
    const stored = await jsm.streams.getMessage(q.settings.streamName, { seq: result.seq });
    assert.ok(stored);
    assert.equal(stored.subject, jobSubject(q.settings, message.queueId));
    assert.equal(stored.header.get('Nats-Msg-Id'), message.queueId);
    const decoded = decodeRecord(stored.data);
    assert.deepEqual(decoded.record, { v: recordVersion, ...message, body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) } });
    assert.deepEqual(Buffer.from(decoded.inlineBody!), body);
    assert.deepEqual(Buffer.from(await loadBody(q.bodyStore, decoded)), body);
  });

  test('a 30 MB message goes through the Object Store and reads back identical', async () => {
    const body = messageBody(30 * 1024 * 1024);
    const message = acceptedMessage();
    const result = await q.publisher.enqueue(message, body);
    assert.equal(result.bodyKind, 'object');

    const jsm = await jetstreamManager(q.nc);
    const stored = await jsm.streams.getMessage(q.settings.streamName, { seq: result.seq });
    assert.ok(stored);
    assert.ok(stored.data.length < 4096, 'the job carries a reference, not the body');
    const decoded = decodeRecord(stored.data);
    assert.equal(decoded.record.body.kind, 'object');
    const digest = createHash('sha256').update(body).digest('hex');
    assert.equal(decoded.record.body.sha256, digest);
    const back = await loadBody(q.bodyStore, decoded);
    assert.equal(back.length, body.length);
    assert.equal(createHash('sha256').update(back).digest('hex'), digest);
  });

  test('enqueueing the same queue id twice stores the job once (duplicate counts as success)', async () => {
    const jsm = await jetstreamManager(q.nc);
    const message = acceptedMessage();
    const body = messageBody(500);
    const before = (await jsm.streams.info(q.settings.streamName)).state.messages;
    const first = await q.publisher.enqueue(message, body);
    const again = await q.publisher.enqueue(message, body);
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    assert.equal((await jsm.streams.info(q.settings.streamName)).state.messages, before + 1);
  });

  test('a retry after a lost PubAck is stored once', async () => {
    // The first attempt reached the stream but its ack never came back: publish it the way
    // the publisher does and drop the ack, then let enqueue() retry.
    const jsm = await jetstreamManager(q.nc);
    const message = acceptedMessage();
    const body = messageBody(300);
    const record = { v: recordVersion, ...message, body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) } } as const;
    const lost = await jetstream(q.nc).publish(jobSubject(q.settings, message.queueId), encodeRecord(record, body), { msgID: message.queueId });
    const before = (await jsm.streams.info(q.settings.streamName)).state.messages;
    const retried = await q.publisher.enqueue(message, body);
    assert.equal(retried.duplicate, true);
    assert.equal(retried.seq, lost.seq);
    assert.equal((await jsm.streams.info(q.settings.streamName)).state.messages, before);
  });

  test('a body of 1 byte over the inline limit goes to the Object Store', async () => {
    const limit = q.nc.info!.max_payload - 4096;
    const result = await q.publisher.enqueue(acceptedMessage(), messageBody(limit + 1));
    assert.equal(result.bodyKind, 'object');
  });
});

describe('queue - full stream', () => {
  let server: NatsServer;
  let q: QueueFixture;

  before(async () => {
    server = await startNatsServer({ name: 'nats-full' });
    q = await openQueue(server.url, { maxBytes: 64 * 1024 });
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('a full stream refuses new mail with 452 4.3.1 and keeps what it has', async () => {
    const jsm = await jetstreamManager(q.nc);
    let stored = 0;
    let refusal: unknown;
    for (let i = 0; i < 100 && refusal === undefined; i++) {
      try {
        await q.publisher.enqueue(acceptedMessage(), messageBody(8 * 1024));
        stored++;
      } catch (err) {
        refusal = err;
      }
    }
    assert.ok(stored > 0);
    assert.ok(isQueueError(refusal), `expected a QueueError, got ${String(refusal)}`);
    assert.equal(refusal.kind, 'full');
    assert.equal(refusal.transient, true);
    assert.deepEqual([refusal.reply.code, refusal.reply.enhanced], [452, '4.3.1']);
    assert.equal((await jsm.streams.info(q.settings.streamName)).state.messages, stored);
  });
});
