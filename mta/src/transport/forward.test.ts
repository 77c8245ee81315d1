import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryAttempt } from '../delivery/attempt.ts';
import { createForwardTransport, publisherRequeue, type ForwardJob } from './forward.ts';
import { isQueueId } from '../queue/queue-id.ts';
import { createTransportSet } from './transport-set.ts';

const record = {
  v: 1 as const,
  queueId: '0123456789ABCDEFGHJKMNPQRS',
  receivedAt: '2026-11-22T10:00:00.000Z',
  listener: 'mx',
  client: { ip: '127.0.0.1', helo: 'c', tls: null, authUser: null },
  envelope: { mailFrom: { address: 's@far.test', params: [] }, rcptTo: [{ address: 'fwd@example.test', params: [] }] },
  body: { kind: 'inline' as const, size: 2, sha256: '0'.repeat(64) },
};
const attempt = (signal = new AbortController().signal): DeliveryAttempt => ({
  record,
  body: Buffer.from('hi'),
  destination: { kind: 'forward', to: ['x@a.test', 'y@b.test'] },
  recipients: ['fwd@example.test'],
  signal,
});

test('a forward re-queues the message to the forward addresses with a stable dedupe id', async () => {
  const jobs: ForwardJob[] = [];
  const transport = createForwardTransport({
    requeue: async (job) => {
      jobs.push(job);
    },
  });
  const [first] = await transport.deliver(attempt());
  await transport.deliver(attempt());
  assert.equal(first!.status, 'delivered');
  assert.deepEqual(jobs[0]!.recipients, ['x@a.test', 'y@b.test']);
  assert.equal(jobs[0]!.sender, 's@far.test');
  assert.equal(jobs[0]!.dedupeId, jobs[1]!.dedupeId);
});

test('a failed re-queue is transient', async () => {
  const transport = createForwardTransport({
    requeue: async () => {
      throw new Error('no PubAck');
    },
  });
  const [o] = await transport.deliver(attempt());
  assert.deepEqual([o!.status, o!.reply.code], ['transient', 451]);
});

test('the transport set dispatches on the destination kind and rejects a kind it lacks', async () => {
  const set = createTransportSet({ forward: createForwardTransport({ requeue: async () => {} }) });
  assert.equal((await set.deliver(attempt()))[0]!.status, 'delivered');
  await assert.rejects(set.deliver({ ...attempt(), destination: { kind: 'mx', domain: 'a.test' } }), /no transport configured for mx/);
});

test('publisherRequeue publishes a new job with a queue id stable across retries', async () => {
  const published: { queueId: string; listener: string; from: string; to: string[] }[] = [];
  const publisher = {
    enqueue: async (m: { queueId: string; listener: string; envelope: { mailFrom: { address: string }; rcptTo: readonly { address: string }[] } }) => {
      published.push({ queueId: m.queueId, listener: m.listener, from: m.envelope.mailFrom.address, to: m.envelope.rcptTo.map((r) => r.address) });
    },
  };
  const transport = createForwardTransport({ requeue: publisherRequeue(publisher) });
  await transport.deliver(attempt());
  await transport.deliver(attempt());
  assert.equal(published.length, 2);
  assert.equal(published[0]!.queueId, published[1]!.queueId);
  assert.ok(isQueueId(published[0]!.queueId));
  assert.notEqual(published[0]!.queueId, record.queueId);
  assert.deepEqual(published[0], { queueId: published[0]!.queueId, listener: 'forward', from: 's@far.test', to: ['x@a.test', 'y@b.test'] });
});

test('the forwarded copy is marked Delivered-To; a copy that comes back to the same mailbox is a loop (5.4.6)', async () => {
  const jobs: ForwardJob[] = [];
  const transport = createForwardTransport({
    requeue: async (job) => {
      jobs.push(job);
    },
  });
  await transport.deliver(attempt());
  assert.match(jobs[0]!.body.toString(), /^Delivered-To: fwd@example.test\r\nhi$/);
  const [looped] = await transport.deliver({ ...attempt(), body: Buffer.from('Delivered-To: FWD@example.test\r\nSubject: x\r\n\r\nhi') });
  assert.deepEqual([looped!.status, looped!.reply.enhanced], ['permanent', '5.4.6']);
  assert.equal(jobs.length, 1);
});
