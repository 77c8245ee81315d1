// Backscatter through a whole `stafette mta` (nats-server, dnsmasq, remote MX receivers): mail
// to gone@example.test is forwarded to reject@far.test, which far.test refuses, so the MTA owes
// the sender a failure notice (via the SRS address, reversed to the original sender). From an
// address sender.test's SPF allows, the notice reaches mx.sender.test; from one it does not
// (SPF fail at our MX: the sender is likely forged), no notice is sent and the MTA logs why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopAll, waitFor } from '../harness/process.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

describe('no notices to senders that failed SPF at intake', () => {
  let m: StandardsMta;
  before(async () => {
    m = await startStandardsMta('backscatter');
  });
  after(async () => {
    await m.close();
    await stopAll();
  });

  const send = (source: string, subject: string) =>
    sendMessage({
      host: m.mx.host,
      port: m.mx.port,
      localAddress: source,
      helo: 'client.sender.test',
      from: 'alice@sender.test',
      to: ['gone@example.test'],
      message: Buffer.from(
        `From: alice@sender.test\r\nTo: gone@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@sender.test>\r\n\r\nhello\r\n`,
      ),
    });
  const notices = () => m.sender.messages.filter((x) => x.to.includes('alice@sender.test'));

  test('SPF pass: the failure notice reaches the sender', async () => {
    assert.match(await send('127.0.0.10', 'authentic'), /^250 /);
    const dsn = await waitFor('the notice at sender.test', () => notices()[0], { timeoutMs: 30_000 });
    assert.equal(dsn.from, '');
    assert.match(dsn.data.toString(), /reject@far\.test/);
  });

  test('SPF fail: no notice; the log says it was dropped as backscatter', async () => {
    assert.match(await send('127.0.0.11', 'forged'), /^250 /);
    const line = await waitFor(
      'the backscatter log line',
      () =>
        readFileSync(m.mta.logFile, 'utf8')
          .split('\n')
          .find((l) => l.includes('likely forged sender dropped')),
      { timeoutMs: 30_000 },
    );
    assert.match(line, /"senderAuth":"spf=fail"/);
    await sleep(1_000);
    assert.equal(notices().length, 1, 'only the first message got a notice');
  });
});
