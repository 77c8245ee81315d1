// The intake's memory budget (docs/reliability.md "Limits"): twenty clients send a maximum-size
// message at once to an intake whose budget holds only a few of them. Every client gets 250 or
// a 4xx (451 4.3.2, try again later), never a 5xx; every 250 is a stored job (nothing lost);
// the bytes intake holds never exceed the budget. Real intake and nats-server; the clients are
// nodemailer's SMTPConnection. Prints peak RSS of this process (intake runs in it) and the
// peak of the budget in use.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { stopAll } from '../harness/process.ts';
import { renderExampleBundle, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { sendMessage } from '../harness/smtp-send.ts';

const maxSize = 4 * 1024 * 1024;
const budget = 20 * 1024 * 1024; // 2 bytes held per data byte: room for about two messages at once

function maxSizeMessage(i: number): Buffer {
  const head = `From: s${i}@remote.example\r\nTo: alice@example.com\r\nSubject: big ${i}\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  const lines = Math.floor((maxSize - head.length - 4096) / line.length);
  return Buffer.from(head + line.repeat(lines));
}

describe('abuse - memory budget at intake', () => {
  let f: IntakeFixture;
  before(async () => {
    const { bundle, secrets } = renderExampleBundle();
    f = await startIntakeFixture({
      name: 'nats-memory-budget',
      config: { secrets, bundle: { ...bundle, domains: bundle.domains.map((d) => ({ ...d, inbound: { ...d.inbound, maxMessageSize: maxSize } })) } },
      intake: { memoryBudgetBytes: budget },
    });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('20 clients at once: 250 or 451 4.3.2, every 250 stored, the budget never exceeded', { timeout: 180_000 }, async () => {
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakBudget = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakBudget = Math.max(peakBudget, f.intake.memory().used);
    }, 5);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sendMessage({ host: f.mx.host, port: f.mx.port, from: `s${i}@remote.example`, to: ['alice@example.com'], message: maxSizeMessage(i) }),
      ),
    );
    clearInterval(sampler);
    const accepted = replies.filter((r) => r.startsWith('250'));
    const refused = replies.filter((r) => r.startsWith('451 4.3.2'));
    console.log(
      `# accepted ${accepted.length}, refused 451 4.3.2 ${refused.length}; peak budget in use ${(peakBudget / 2 ** 20).toFixed(1)} MiB of ${budget / 2 ** 20}; ` +
        `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );
    // On a loaded machine a publish can also run out of its budget (451 4.3.0, the queue's
    // transient refusal): a 4xx the client retries, never a loss. Anything else is a failure.
    assert.deepEqual(
      replies.filter((r) => !r.startsWith('250') && !r.startsWith('451 4.3.2') && !r.startsWith('451 4.3.0')),
      [],
      'only 250, 451 4.3.2 (budget) or 451 4.3.0 (queue busy)',
    );
    assert.ok(refused.length > 0, 'the budget refused some');
    assert.ok(accepted.length > 0, 'the budget let some through');
    assert.ok(peakBudget <= budget, 'never more than the budget held');
    assert.equal(f.intake.memory().used, 0, 'everything released');
    const jsm = await jetstreamManager(f.queue.nc);
    assert.equal((await jsm.streams.info(f.queue.settings.streamName)).state.messages, accepted.length, 'every 250 is a stored job');
  });
});
