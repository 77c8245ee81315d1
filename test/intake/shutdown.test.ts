// close(deadline): the listeners stop accepting at once; a session in the middle of DATA may
// finish its message (250 after the queue acknowledged it), then gets 421 for anything else;
// a session still open at the deadline gets 421 and is closed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { SmtpWire } from '../harness/smtp-transcript.ts';

async function command(wire: SmtpWire, line: string): Promise<string> {
  wire.send(`${line}\r\n`);
  return (await wire.readReply()).at(-1)!;
}

async function inTransaction(f: IntakeFixture): Promise<SmtpWire> {
  const wire = await SmtpWire.open(f.mx, 30_000);
  await wire.readReply();
  await command(wire, 'EHLO client.example');
  await command(wire, 'MAIL FROM:<sender@example.org>');
  assert.match(await command(wire, 'RCPT TO:<bob@example.com>'), /^250 /);
  return wire;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('intake - shutdown', () => {
  const fixtures: IntakeFixture[] = [];
  after(async () => {
    for (const f of fixtures) await f.close();
    await stopAll();
  });

  test('a message in flight is finished and stored; new connections are refused; the next command gets 421', async () => {
    const f = await startIntakeFixture({ name: 'nats-intake-shutdown-1' });
    fixtures.push(f);
    const wire = await inTransaction(f);
    let closed: Promise<void> | undefined;
    try {
      assert.match(await command(wire, 'DATA'), /^354 /);
      wire.send('Subject: in flight\r\n\r\nfirst half\r\n');
      const closing = f.intake.close(20_000);
      closed = closing;
      closing.catch(() => undefined);
      assert.equal(await refused(f.mx.port), true, 'the listener no longer accepts');
      wire.send('second half\r\n.\r\n');
      const reply = (await wire.readReply()).at(-1)!;
      assert.match(reply, /^250 2\.6\.0 Ok: queued as /);
      assert.match((await f.stored(queueIdOf(reply))).body.toString(), /first half\r\nsecond half\r\n$/);
      assert.match(await command(wire, 'MAIL FROM:<sender@example.org>'), /^421 /);
    } finally {
      wire.destroy();
    }
    await closed;
  });

  test('a session still open at the deadline gets 421 and is closed', async () => {
    const f = await startIntakeFixture({ name: 'nats-intake-shutdown-2' });
    fixtures.push(f);
    const wire = await inTransaction(f);
    try {
      await f.intake.close(300);
      assert.match((await wire.readReply()).at(-1)!, /^421 /);
      await wire.waitClosed();
    } finally {
      wire.destroy();
    }
  });
});
