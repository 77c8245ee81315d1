// The event recorder as a specification of what reaches the API: one Event per series, its
// count written at the second occurrence, then only every 30 minutes and when the series
// ends, whatever the number of occurrences in between. The sink here only records calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventInput } from './client.ts';
import { EventRecorder, type EventOutcome, type EventSeries } from './event-recorder.ts';

const minute = 60_000;

function harness(options: { failCreate?: boolean; gone?: boolean; maxQueued?: number; maxSeries?: number } = {}) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const calls: string[] = [];
  const outcomes: EventOutcome[] = [];
  let created = 0;
  const recorder = new EventRecorder({
    now: () => new Date(clock),
    maxQueued: options.maxQueued,
    maxSeries: options.maxSeries,
    onOutcome: (_event, outcome) => outcomes.push(outcome),
    onError: () => {},
    sink: {
      create(event: EventInput, eventTime: Date, series: EventSeries | null) {
        if (options.failCreate) return Promise.reject(new Error('refused'));
        calls.push(
          `create ${event.regarding.name} ${event.reason} at ${(eventTime.getTime() - Date.parse('2026-01-01T00:00:00Z')) / minute}m count ${series?.count ?? 1}`,
        );
        created += 1;
        return Promise.resolve(`${event.regarding.name}.${created}`);
      },
      patchSeries(_namespace: string, name: string, series: EventSeries) {
        calls.push(`patch ${name} count ${series.count}`);
        return Promise.resolve(!options.gone);
      },
    },
  });
  return {
    recorder,
    calls,
    outcomes,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const warning = (name: string, reason = 'DomainNotFound', note = 'no MailDomain serves x.example'): EventInput => ({
  regarding: { apiVersion: 'stafette.dev/v1alpha1', kind: 'Mailbox', namespace: 'mail', name, uid: `uid-${name}` },
  type: 'Warning',
  reason,
  action: 'Reconcile',
  note,
});

test('a failure seen 100 times in an hour is one Event: created, counted at the second, refreshed at 30 min, finished 6 min after the last', async () => {
  const { recorder, calls, advance } = harness();
  for (let i = 0; i < 100; i += 1) {
    recorder.record(warning('stranger'));
    await recorder.settled();
    advance(36_000);
    recorder.flush();
  }
  await recorder.settled();
  assert.deepEqual(calls, ['create stranger DomainNotFound at 0m count 1', 'patch stranger.1 count 2', 'patch stranger.1 count 52']);
  advance(6 * minute);
  recorder.flush();
  await recorder.settled();
  assert.deepEqual(calls.slice(3), ['patch stranger.1 count 100']);
  assert.equal(recorder.size(), 0, 'the finished series is forgotten');
  // The next occurrence is a new Event.
  recorder.record(warning('stranger'));
  await recorder.settled();
  assert.equal(calls.at(-1), 'create stranger DomainNotFound at 66m count 1');
});

test('different objects, reasons or messages are different Events', async () => {
  const { recorder, calls } = harness();
  recorder.record(warning('a'));
  recorder.record(warning('b'));
  recorder.record(warning('a', 'AddressConflict', 'taken'));
  recorder.record(warning('a', 'DomainNotFound', 'no MailDomain serves y.example'));
  await recorder.settled();
  assert.equal(calls.filter((c) => c.startsWith('create')).length, 4);
});

test('an Event that expired (its TTL passed) is created again with the series so far', async () => {
  const { recorder, calls } = harness({ gone: true });
  recorder.record(warning('a'));
  await recorder.settled();
  recorder.record(warning('a'));
  await recorder.settled();
  assert.deepEqual(calls, ['create a DomainNotFound at 0m count 1', 'patch a.1 count 2', 'create a DomainNotFound at 0m count 2']);
});

test('a refused create is reported, not retried in a loop; the next occurrence tries again', async () => {
  const { recorder, outcomes } = harness({ failCreate: true });
  recorder.record(warning('a'));
  await recorder.settled();
  assert.deepEqual(outcomes, ['failed']);
  assert.equal(recorder.size(), 0);
  recorder.record(warning('a'));
  await recorder.settled();
  assert.deepEqual(outcomes, ['failed', 'failed']);
});

test('bounded: beyond maxQueued writes events are dropped and counted; beyond maxSeries the least recently seen is forgotten', async () => {
  const queue = harness({ maxQueued: 2 });
  for (const name of ['a', 'b', 'c', 'd']) queue.recorder.record(warning(name));
  await queue.recorder.settled();
  assert.deepEqual(queue.outcomes.sort(), ['created', 'created', 'dropped', 'dropped']);

  const series = harness({ maxSeries: 2 });
  for (const name of ['a', 'b', 'c']) series.recorder.record(warning(name));
  series.recorder.record(warning('a'));
  await series.recorder.settled();
  assert.equal(series.recorder.size(), 2);
  assert.equal(series.calls.at(-1), 'create a DomainNotFound at 0m count 1', 'a was forgotten, so it starts over');
});
