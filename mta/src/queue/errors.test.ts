import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors as coreErrors, RequestError } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { classifyPublishFailure, queueUnavailable } from './errors.ts';

test('publish failures - a lost or late ack is retried with the same message id', () => {
  const retried = [
    new coreErrors.TimeoutError(),
    new RequestError('no responders', { cause: new coreErrors.NoRespondersError('$JS.API') }),
    Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' }),
    new coreErrors.ConnectionError('disconnected'),
  ];
  for (const err of retried) assert.deepEqual(classifyPublishFailure(err), { action: 'retry' }, err.name);
});

test('publish failures - a full stream is 452 4.3.1, at once', () => {
  const verdict = classifyPublishFailure(new JetStreamApiError({ code: 503, err_code: 10077, description: 'maximum bytes exceeded' }));
  assert.equal(verdict.action, 'fail');
  if (verdict.action !== 'fail') return;
  assert.equal(verdict.error.kind, 'full');
  assert.deepEqual(verdict.error.reply, { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage, please try again later' });
  assert.match(verdict.error.message, /maximum bytes exceeded \(10077\)/);
});

test('publish failures - other refusals and a closed connection are 451 4.3.0 with the reason kept for the log', () => {
  const cases = [
    new JetStreamApiError({ code: 400, err_code: 10060, description: 'expected stream does not match' }),
    new coreErrors.ClosedConnectionError(),
    new Error('something odd'),
  ];
  for (const err of cases) {
    const verdict = classifyPublishFailure(err);
    assert.equal(verdict.action, 'fail');
    if (verdict.action !== 'fail') continue;
    assert.equal(verdict.error.kind, 'unavailable');
    assert.equal(verdict.error.transient, true);
    assert.equal(verdict.error.reply.code, 451);
    assert.doesNotMatch(verdict.error.reply.text, /stream|nats|closed|odd/i);
    assert.equal(verdict.error.cause, err);
  }
});

test('publish failures - a QueueError passes through unchanged', () => {
  const err = queueUnavailable('deadline');
  assert.deepEqual(classifyPublishFailure(err), { action: 'fail', error: err });
});
