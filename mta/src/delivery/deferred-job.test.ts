import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQueueError } from '../queue/errors.ts';
import { sha256Hex, type QueueRecord } from '../queue/record.ts';
import { decodeDeferredJob, encodeDeferredJob, type DeferredState } from './deferred-job.ts';

const body = Buffer.from('Subject: x\r\n\r\nhi\n\u0000\r\n');
const record: QueueRecord = {
  v: 1,
  queueId: '01JB0000000000000000000000',
  receivedAt: '2026-11-22T10:00:00.000Z',
  listener: 'mx',
  client: { ip: '192.0.2.1', helo: 'c', tls: null, authUser: null },
  envelope: { mailFrom: { address: 'a@b', params: [] }, rcptTo: [{ address: 'later@b.test', params: [{ name: 'NOTIFY', value: 'FAILURE' }] }] },
  body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
};
const state: DeferredState = {
  v: 1,
  failedAttempts: 2,
  firstAttemptAt: '2026-11-22T10:00:01.000Z',
  lastAttemptAt: '2026-11-22T10:05:01.000Z',
  notBefore: '2026-11-22T10:15:01.000Z',
  held: false,
  lastReplies: [{ recipient: 'later@b.test', code: 450, enhanced: '4.3.0', text: 'busy\r\nnow', remoteMta: 'mx.b.test' }],
};

test('a deferred job round-trips: state, record and body byte-identical', () => {
  const job = decodeDeferredJob(encodeDeferredJob(state, record, body));
  assert.deepEqual(job.state, state);
  assert.deepEqual(job.decoded.record, record);
  assert.deepEqual(Buffer.from(job.decoded.inlineBody!), body);
});

test('long remote replies are capped; malformed jobs are format errors', () => {
  const long = { ...state, lastReplies: [{ ...state.lastReplies[0]!, text: 'x'.repeat(5000) }] };
  assert.equal(decodeDeferredJob(encodeDeferredJob(long, record, body)).state.lastReplies[0]!.text.length, 500);
  for (const bad of [Buffer.from('no newline'), Buffer.from('{"v":2}\n'), Buffer.from('{"v":1}\n')]) {
    assert.throws(
      () => decodeDeferredJob(bad),
      (err) => isQueueError(err) && err.kind === 'format',
    );
  }
  assert.throws(() => encodeDeferredJob({ ...state, failedAttempts: 0 }, record, body), /failedAttempts/);
});
