// `stafette queue stats|list|show` against a real nats-server with messages in the queue:
// what an operator sees, in text and JSON, and clear failures for unknown ids or no NATS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { acceptedMessage, messageBody, openQueue, type QueueFixture } from '../queue/queue-fixture.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

function stafette(...args: string[]) {
  const run = spawnSync(process.execPath, [resolve(repoRoot, 'cli/stafette.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

describe('stafette queue', () => {
  let server: NatsServer;
  let q: QueueFixture;
  const small = acceptedMessage();
  const large = acceptedMessage({
    envelope: {
      mailFrom: { address: '', params: [] },
      rcptTo: [
        { address: 'x@example.org', params: [] },
        { address: 'y@example.org', params: [] },
      ],
    },
  });

  before(async () => {
    server = await startNatsServer({ name: 'nats-queue-cli' });
    q = await openQueue(server.url);
    await q.publisher.enqueue(small, messageBody(2048));
    await q.publisher.enqueue(large, messageBody(3 * 1024 * 1024));
  });
  after(async () => {
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  test('stats: the number of jobs, the consumer, and the large-body bucket', () => {
    const { status, out } = stafette('queue', 'stats', '--nats', server.url);
    assert.equal(status, 0);
    assert.match(out, /^stream MAILQ: 2 jobs, [\d.]+ KiB, oldest stored \S+ \(\d+s ago\)$/m);
    assert.match(out, /^consumer delivery: 2 waiting for a worker, 0 being delivered/m);
    assert.match(out, /^large bodies \(bucket mailbody\): 3\.0 MiB in \d+ chunks$/m);
  });

  test('list: both jobs, oldest first, with sender, recipients and where the body is', () => {
    const { status, out } = stafette('queue', 'list', '--nats', server.url);
    assert.equal(status, 0);
    const rows = out.trim().split('\n');
    assert.match(rows[0]!, /^QUEUE ID +SEQ +SIZE +AGE +BODY +FROM +TO$/);
    assert.match(rows[1]!, new RegExp(`^${small.queueId} +1 +2\\.0 KiB +\\d+s +inline +sender@example\\.com +rcpt@example\\.org$`));
    assert.match(rows[2]!, new RegExp(`^${large.queueId} +2 +3\\.0 MiB +\\d+s +object +<> +x@example\\.org, y@example\\.org$`));

    const limited = stafette('queue', 'list', '--limit', '1', '--nats', server.url);
    assert.match(limited.out, /more jobs follow: stafette queue list --from 2/);
  });

  test('list --json gives the data as read', () => {
    const { status, out } = stafette('queue', 'list', '--json', '--nats', server.url);
    assert.equal(status, 0);
    const data = JSON.parse(out) as { entries: { queueId: string; bodyKind: string }[]; nextSeq: number | null };
    assert.deepEqual(
      data.entries.map((e) => [e.queueId, e.bodyKind]),
      [
        [small.queueId, 'inline'],
        [large.queueId, 'object'],
      ],
    );
    assert.equal(data.nextSeq, null);
  });

  test('show: the envelope and the body checked against its digest in the Object Store', () => {
    const { status, out } = stafette('queue', 'show', large.queueId, '--nats', server.url);
    assert.equal(status, 0);
    assert.match(out, new RegExp(`^queue id: +${large.queueId}$`, 'm'));
    assert.match(out, /^from: +<>$/m);
    assert.match(out, /^to: +<x@example\.org>$/m);
    assert.match(out, /^body: +3\.0 MiB, sha256 [0-9a-f]{64}$/m);
    assert.match(out, new RegExp(`^ +object store bucket mailbody, object ${large.queueId}$`, 'm'), 'present and matching: no MISSING note');
  });

  test('show of an unknown or malformed id, and any command without NATS, fail with a sentence', async () => {
    const unknown = stafette('queue', 'show', '01AAAAAAAAAAAAAAAAAAAAAAAA', '--nats', server.url);
    assert.equal(unknown.status, 1);
    assert.match(unknown.err, /error: no queued job with id 01AAAAAAAAAAAAAAAAAAAAAAAA/);

    const malformed = stafette('queue', 'show', 'mail.>', '--nats', server.url);
    assert.equal(malformed.status, 1);
    assert.match(malformed.err, /error: not a queue id/);

    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    const down = stafette('queue', 'stats', '--nats', nowhere);
    assert.equal(down.status, 1);
    assert.match(down.err, new RegExp(`error: cannot connect to NATS at ${nowhere}`));
  });
});
