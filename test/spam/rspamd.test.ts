// The spam filter as a sender meets it: the real intake (nats-server, the example bundle) asks
// a real rspamd (Debian's, started by the harness with a minimal local configuration) about
// every MX message. GTUBE test spam is refused with 550 5.7.1 and not stored; rspamd's
// add-header test pattern is stored marked X-Spam-Status: Yes; ham is stored with
// X-Spam-Status: No; with rspamd gone the message is deferred (451 4.7.1) or accepted unmarked,
// as configured.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSpamFilter, type SpamFilter, type SpamFilterOptions } from '../../mta/src/spam/rspamd.ts';
import { stopAll } from '../harness/process.ts';
import { gtube, rspamdThresholds, startRspamd, type Rspamd } from '../harness/rspamd.ts';
import { queueIdOf, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { sendMessage } from '../harness/smtp-send.ts';

function message(subject: string, text: string): Buffer {
  return Buffer.from(
    `From: a@sender.test\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nDate: Wed, 18 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, '-')}@sender.test>\r\n\r\n${text}\r\n`,
  );
}

function headerOf(body: Buffer, name: string): string[] {
  const head = body
    .subarray(0, body.indexOf('\r\n\r\n'))
    .toString()
    .replace(/\r\n[ \t]+/g, ' ');
  return head
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

describe('rspamd in the MX DATA path, against a real rspamd', () => {
  let rspamd: Rspamd;
  let f: IntakeFixture;
  let filter: SpamFilter;
  const actions: string[] = [];
  const filterWith = (o: Partial<SpamFilterOptions>) =>
    createSpamFilter({
      url: rspamd.url,
      rejectScore: rspamdThresholds.reject,
      markScore: rspamdThresholds.addHeader,
      observer: { spamVerdict: (a) => actions.push(a) },
      ...o,
    });

  before(async () => {
    rspamd = await startRspamd();
    filter = filterWith({});
    f = await startIntakeFixture({
      name: 'rspamd',
      listeners: { mx: { greetingDelayMs: 0 } },
      intake: { spamFilter: { check: (input) => filter.check(input) } },
    });
  });
  after(async () => {
    await f.close();
    await rspamd.stop();
    await stopAll();
  });

  const send = (msg: Buffer) =>
    sendMessage({ host: f.mx.host, port: f.mx.port, localAddress: '127.0.0.10', from: 'a@sender.test', to: ['bob@example.com'], message: msg });

  test('GTUBE is refused with 550 5.7.1', async () => {
    actions.length = 0;
    assert.equal(await send(message('gtube', `This is spam.\r\n${gtube.reject}`)), '550 5.7.1 Message rejected as spam');
    assert.deepEqual(actions, ['reject']);
  });

  test("ham is accepted and stored with X-Spam-Status: No after Received; the sender's own verdict fields are gone", async () => {
    const reply = await send(Buffer.concat([Buffer.from('X-Spam-Status: No, score=-50\r\nX-Spam-Flag: NO\r\n'), message('ham', 'Lunch on Friday?')]));
    assert.match(reply, /^250 /);
    const body = (await f.stored(queueIdOf(reply))).body;
    assert.deepEqual(headerOf(body, 'X-Spam-Status'), ['No, score=0.00 required=6.00']);
    assert.match(headerOf(body, 'X-Spamd-Result')[0]!, /^default: False \[0\.00 \/ 6\.00\]/);
    assert.match(body.toString(), /^Received: [^]*?\r\nX-Spam-Status: No/);
  });

  test("rspamd's add-header test pattern is stored marked X-Spam-Status: Yes", async () => {
    const reply = await send(message('marked', `Maybe spam.\r\n${gtube.addHeader}`));
    assert.match(reply, /^250 /);
    const body = (await f.stored(queueIdOf(reply))).body;
    assert.deepEqual(headerOf(body, 'X-Spam-Status'), ['Yes, score=6.00 required=6.00']);
    assert.match(headerOf(body, 'X-Spamd-Result')[0]!, /^default: True \[6\.00 \/ 6\.00\]; GTUBE\(0\.00\)$/);
  });

  test('rspamd gone: deferred with 451 4.7.1, or accepted unmarked when so configured', async () => {
    await rspamd.stop();
    actions.length = 0;
    assert.equal(await send(message('while down', 'Hello.')), '451 4.7.1 Message could not be checked for spam now, try again later');
    filter = filterWith({ onError: 'accept' });
    const reply = await send(message('while down, accepted', 'Hello.'));
    assert.match(reply, /^250 /);
    assert.deepEqual(headerOf((await f.stored(queueIdOf(reply))).body, 'X-Spam-Status'), []);
    assert.deepEqual(actions, ['error_defer', 'error_accept']);
  });
});
