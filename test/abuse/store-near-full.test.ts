// Byte caps (docs/reliability.md "Limits"): when a stream of the queue is at 90% of its cap,
// intake answers new mail 452 4.3.1 at MAIL FROM, before any write could fail; below the mark
// it takes mail again. Real intake, real nats-server; the job stream's max_bytes is lowered
// for real and filled with queued mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { watchStorePressure, type StorePressure } from '../../mta/src/queue/store-pressure.ts';
import { silentLogger } from '../../observability/logger.ts';
import { stopAll } from '../harness/process.ts';
import { startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { acceptedMessage, messageBody } from '../queue/queue-fixture.ts';

const mail = (reply: string) => `
s: 220 *
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@remote.example>
s: ${reply}
c: QUIT
s: 221 *`;

describe('abuse - store near full', () => {
  let f: IntakeFixture;
  let pressure: StorePressure;
  before(async () => {
    f = await startIntakeFixture({ name: 'nats-store-near-full', intake: { storeNearFull: () => pressure.nearFull() } });
    pressure = watchStorePressure({ nc: f.queue.nc, settings: f.queue.settings, logger: silentLogger, refreshMs: 60_000 });
  });
  after(async () => {
    pressure?.stop();
    await f?.close();
    await stopAll();
  });

  test('at 90% of the job stream cap MAIL gets 452 4.3.1; with room again it gets 250', { timeout: 30_000 }, async () => {
    const jsm = await jetstreamManager(f.queue.nc);
    const stream = f.queue.settings.streamName;
    await jsm.streams.update(stream, { max_bytes: 400_000 });
    await pressure.refresh();
    await playTranscript(f.mx, mail('250 *'));
    for (let i = 0; i < 8; i++) await f.queue.publisher.enqueue(acceptedMessage(), messageBody(45_000));
    await pressure.refresh();
    const usage = pressure.usage().find((u) => u.stream === stream)!;
    assert.ok(usage.bytes >= 0.9 * 400_000, `filled to ${usage.bytes} bytes`);
    await playTranscript(f.mx, mail('452 4.3.1 Insufficient system storage, please try again later'));
    await jsm.streams.update(stream, { max_bytes: 4_000_000 });
    await pressure.refresh();
    await playTranscript(f.mx, mail('250 *'));
  });
});
