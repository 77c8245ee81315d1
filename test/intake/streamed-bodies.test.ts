// Large bodies streamed to the Object Store during DATA (mta/src/smtp/body-streaming.ts,
// docs/reliability.md "Limits"): several messages far past the stream threshold sent at once
// are each stored and delivered byte for byte (sha256), while the budget counts only what is
// in flight; a message refused in the middle of DATA (too big) or after it (a line too long)
// leaves nothing in the body bucket. Real intake, nats-server, delivery engine and a real
// receiving SMTP server (smtp-server); prints the peak RSS of this process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { retryPolicy } from '../../mta/src/delivery/index.ts';
import { bodyStreamName } from '../../mta/src/queue/settings.ts';
import { stopAll } from '../harness/process.ts';
import { renderExampleBundle, queueIdOf, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { startTestDelivery } from '../delivery/delivery-fixture.ts';

const MiB = 1024 * 1024;
const maxSize = 16 * MiB;
const budget = 32 * MiB; // five 12 MiB messages held whole would need 120 MiB

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Printable random lines: every message differs, and nothing in it is changed by intake.
function message(i: number, bytes: number, longLine = false): Buffer {
  const head = Buffer.from(`From: s${i}@remote.example\r\nTo: alice@example.com\r\nSubject: streamed ${i}\r\n\r\n`);
  const lines = Math.floor((bytes - head.length) / 78);
  const body = Buffer.from(
    randomBytes(lines * 57)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n'),
  );
  return Buffer.concat([head, body.subarray(0, lines * 78), longLine ? Buffer.from('y'.repeat(5000) + '\r\n') : Buffer.alloc(0)]);
}

describe('intake - large bodies streamed to the Object Store', () => {
  let f: IntakeFixture;
  let receiver: SmtpReceiver;
  // Live objects and chunk messages in the body bucket (a deleted object leaves only its
  // metadata tombstone).
  const leftInBucket = async () => {
    const jsm = await jetstreamManager(f.queue.nc);
    const info = await jsm.streams.info(bodyStreamName(f.queue.settings), { subjects_filter: `$O.${f.queue.settings.bodyBucket}.C.>` });
    const chunks = Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0);
    return { objects: (await f.queue.bodyStore.list()).length, chunks };
  };
  before(async () => {
    const { bundle, secrets } = renderExampleBundle();
    f = await startIntakeFixture({
      name: 'nats-streamed-bodies',
      config: { secrets, bundle: { ...bundle, domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, maxMessageSize: maxSize } })) } },
      intake: { memoryBudgetBytes: budget },
    });
    receiver = await startSmtpReceiver({ host: '127.0.0.2' });
  });
  after(async () => {
    await f?.close();
    await receiver?.stop();
    await stopAll();
  });

  test('refused in the middle of DATA (too big) or after it (a line too long): nothing left in the bucket', { timeout: 120_000 }, async () => {
    const big = await sendMessage({
      host: f.mx.host,
      port: f.mx.port,
      from: 'big@remote.example',
      to: ['alice@example.com'],
      message: message(0, maxSize + 4 * MiB),
    });
    assert.match(big, /^552 /);
    const long = await sendMessage({
      host: f.mx.host,
      port: f.mx.port,
      from: 'long@remote.example',
      to: ['alice@example.com'],
      message: message(1, 6 * MiB, true),
    });
    assert.match(long, /^5\d\d 5\.6\.0/);
    assert.deepEqual(await leftInBucket(), { objects: 0, chunks: 0 }, 'no chunk and no object of a refused message');
    assert.equal(f.intake.memory().used, 0);
  });

  test('five 12 MiB messages at once under a 32 MiB budget: all 250, stored and delivered byte for byte', { timeout: 300_000 }, async () => {
    const sent = Array.from({ length: 5 }, (_, i) => message(i + 10, 12 * MiB));
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakBudget = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakBudget = Math.max(peakBudget, f.intake.memory().used);
    }, 5);
    const replies = await Promise.all(
      sent.map((m, i) => sendMessage({ host: f.mx.host, port: f.mx.port, from: `s${i + 10}@remote.example`, to: ['alice@example.com'], message: m })),
    );
    clearInterval(sampler);
    console.log(
      `# replies ${replies.map((r) => r.slice(0, 9)).join(', ')}; peak budget in use ${(peakBudget / MiB).toFixed(1)} MiB of ${budget / MiB}; ` +
        `RSS ${(rssBefore / MiB).toFixed(0)} -> peak ${(peakRss / MiB).toFixed(0)} MiB (the clients' 60 MiB of messages included)`,
    );
    assert.deepEqual(
      replies.map((r) => r.slice(0, 3)),
      ['250', '250', '250', '250', '250'],
    );
    assert.ok(peakBudget <= budget);
    assert.equal(f.intake.memory().used, 0, 'everything released');

    const ids = replies.map(queueIdOf);
    for (const [i, id] of ids.entries()) {
      const stored = await f.stored(id);
      assert.equal(stored.record.body.kind, 'object');
      assert.ok(stored.record.body.kind === 'object' && stored.record.body.prefix?.startsWith('Received: '), 'our fields travel as the prefix');
      assert.equal(sha(stored.body.subarray(stored.body.length - sent[i]!.length)), sha(sent[i]!), `message ${i} stored intact`);
    }

    const left = await leftInBucket();
    assert.equal(left.objects, 5);
    assert.ok(left.chunks >= 5 * 96, 'the chunk count sees the stored chunks (12 MiB / 128 KiB each)');

    const delivery = await startTestDelivery(
      f.queue,
      { 'example.com': { host: receiver.host, port: receiver.port } },
      {
        policy: retryPolicy({ delaysMs: [1_000], jitter: 0, lifetimeMs: 600_000 }),
      },
    );
    try {
      for (let t = 0; t < 1200 && receiver.messages.length < ids.length; t++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await delivery.stop(5_000);
    }
    assert.equal(receiver.messages.length, ids.length, 'every message delivered');
    const delivered = new Set(receiver.messages.map((m) => sha(m.data.subarray(Math.max(0, m.data.length - sent[0]!.length)))));
    for (const [i, m] of sent.entries()) assert.ok(delivered.has(sha(m)), `message ${i} delivered intact`);
  });
});
