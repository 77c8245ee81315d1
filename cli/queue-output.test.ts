// What `stafette queue` prints for people.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAge, formatBytes, formatList, formatShow, formatStats } from './queue-output.ts';

test('stats: jobs, bytes and the oldest job, the consumer, and the large-body bucket', () => {
  const lines = formatStats(
    {
      stream: { name: 'MAILQ', messages: 3, bytes: 6144, firstSeq: 4, lastSeq: 6, oldest: '2026-01-01T00:00:00.000Z' },
      consumer: { name: 'delivery', pending: 2, ackPending: 1, redelivered: 0, waitingPulls: 1 },
      bodies: null,
    },
    Date.parse('2026-01-01T00:02:05Z'),
  );
  assert.deepEqual(lines, [
    'stream MAILQ: 3 jobs, 6.0 KiB, oldest stored 2026-01-01T00:00:00.000Z (2m05s ago)',
    'consumer delivery: 2 waiting for a worker, 1 being delivered, 0 redelivered, 1 worker pulling',
    'large bodies: bucket not created yet',
  ]);
});

test('list: one row per job in columns, the null sender as <>, problems and the next page', () => {
  const lines = formatList({
    entries: [
      {
        seq: 7,
        queueId: '01JDQ0000000000000000000AA',
        sender: '',
        recipients: ['a@x.test', 'b@x.test'],
        size: 2048,
        receivedAt: '',
        ageMs: 61_000,
        bodyKind: 'inline',
      },
    ],
    problems: [{ seq: 8, subject: 'mail.queue.job.bad', problem: 'unknown record version 9' }],
    nextSeq: 9,
  });
  assert.deepEqual(lines, [
    'QUEUE ID                    SEQ  SIZE     AGE    BODY    FROM  TO',
    '01JDQ0000000000000000000AA  7    2.0 KiB  1m01s  inline  <>    a@x.test, b@x.test',
    'problem: job at sequence 8 (mail.queue.job.bad) cannot be read: unknown record version 9',
    'more jobs follow: stafette queue list --from 9',
  ]);
  assert.deepEqual(formatList({ entries: [], problems: [], nextSeq: null }), ['the queue is empty']);
});

test('show: the envelope with its ESMTP parameters, the client, and where the body is', () => {
  const lines = formatShow({
    seq: 7,
    storedAt: '2026-01-01T00:00:01.000Z',
    record: {
      v: 1,
      queueId: '01JDQ0000000000000000000AA',
      receivedAt: '2026-01-01T00:00:00.000Z',
      listener: 'mx',
      client: { ip: '192.0.2.1', helo: 'client.test', tls: null, authUser: null },
      envelope: {
        mailFrom: {
          address: 'a@x.test',
          params: [
            { name: 'BODY', value: '8BITMIME' },
            { name: 'SMTPUTF8', value: null },
          ],
        },
        rcptTo: [
          { address: 'b@y.test', params: [] },
          { address: 'c@y.test', params: [{ name: 'NOTIFY', value: 'NEVER' }] },
        ],
      },
      body: { kind: 'object', bucket: 'mailbody', name: '01JDQ0000000000000000000AA', size: 31_457_280, sha256: 'ab12' },
    },
    bodySize: 31_457_280,
    bodyLocation: 'object store bucket mailbody, object 01JDQ0000000000000000000AA',
    bodyPresent: false,
  });
  assert.deepEqual(lines, [
    'queue id:    01JDQ0000000000000000000AA',
    'sequence:    7',
    'received:    2026-01-01T00:00:00.000Z on listener mx',
    'stored:      2026-01-01T00:00:01.000Z',
    'client:      192.0.2.1 (HELO client.test), TLS none, AUTH none',
    'from:        <a@x.test> BODY=8BITMIME SMTPUTF8',
    'to:          <b@y.test>',
    '             <c@y.test> NOTIFY=NEVER',
    'body:        30.0 MiB, sha256 ab12',
    '             object store bucket mailbody, object 01JDQ0000000000000000000AA - MISSING or does not match its digest',
  ]);
});

test('sizes and ages read naturally', () => {
  assert.deepEqual([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)], ['512 B', '1.5 KiB', '5.0 GiB']);
  assert.deepEqual([formatAge(5_000), formatAge(3_700_000), formatAge(2 * 86_400_000 + 3_600_000)], ['5s', '1h01m', '2d01h']);
});
