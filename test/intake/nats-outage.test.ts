// nats-server stopped in the middle of SMTP sessions: the client gets 451 4.3.0 and never
// 250, and once the server is back the intake accepts mail again by itself (the NATS client
// reconnects; nothing is restarted). The publish budget is shortened to keep the test quick;
// the invariant holds for any budget.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll, waitFor } from '../harness/process.ts';
import { queueIdOf, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript, SmtpWire } from '../harness/smtp-transcript.ts';
import { jsonLogger } from '../../observability/logger.ts';

const transaction = (reply: string) => `
s: 220 *
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@example.org>
s: 250 *
c: RCPT TO:<bob@example.com>
s: 250 *
c: DATA
s: 354 *
c: Subject: outage
c:
c: body
c: .
s: ${reply}
c: QUIT
s: 221 *`;

describe('intake - NATS outage', () => {
  let f: IntakeFixture;
  const logLines: Record<string, unknown>[] = [];

  before(async () => {
    f = await startIntakeFixture({
      name: 'nats-intake-outage',
      publisher: { budgetMs: 3000 },
      intake: { logger: jsonLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) }) },
    });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  test('nats-server stopped during a session: the message gets 451 4.3.0, never 250, and the session goes on', async () => {
    const wire = await SmtpWire.open(f.mx, 30_000);
    try {
      await wire.readReply();
      for (const command of ['EHLO client.example', 'MAIL FROM:<sender@example.org>', 'RCPT TO:<bob@example.com>']) {
        wire.send(`${command}\r\n`);
        assert.match((await wire.readReply()).at(-1)!, /^250 /);
      }
      await f.nats.stop();
      wire.send('DATA\r\n');
      assert.match((await wire.readReply()).at(-1)!, /^354 /);
      wire.send('Subject: during the outage\r\n\r\nbody\r\n.\r\n');
      const reply = (await wire.readReply()).at(-1)!;
      assert.equal(reply, '451 4.3.0 Temporary queue failure, please try again later');
      wire.send('NOOP\r\n');
      assert.match((await wire.readReply()).at(-1)!, /^250 /);
    } finally {
      wire.destroy();
    }
    // A new session while NATS is still down gets the same answer.
    await playTranscript(f.mx, transaction('451 4.3.0 *'));
    // The client saw no internals; the log has the reason.
    const refusal = logLines.find((l) => l.rule === 'queue_unavailable');
    assert.ok(refusal, 'the refusal is logged with its rule');
    assert.equal(refusal.reply, '451 4.3.0 Temporary queue failure, please try again later');
    assert.match(String(refusal.reason), /publish|NATS|acknowledgement/i);
  });

  test('after nats-server returns, intake recovers by itself and the next message is stored', async () => {
    await f.nats.start();
    const log = await waitFor(
      'the intake to accept mail again',
      async () => {
        const result = await playTranscript(f.mx, transaction('250 2.6.0 Ok: queued as *')).catch(() => undefined);
        return result?.log;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const stored = await f.stored(queueIdOf(log.join('\n')));
    assert.match(stored.body.toString(), /Subject: outage\r\n\r\nbody\r\n$/);
  });
});
