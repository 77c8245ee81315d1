// SIGTERM with sessions in flight (docs/reliability.md §3 scenario 44): the pod turns not-ready,
// stops accepting connections, lets the message being sent finish with 250 (stored in the
// queue), answers 421 to what is still open at the deadline, and exits 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { stopAll, waitFor } from '../harness/process.ts';
import { SmtpWire } from '../harness/smtp-transcript.ts';
import { startMtaProcess, testDomain, type MtaProcess } from './mta-process.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

async function expectReply(wire: SmtpWire, code: number): Promise<string> {
  const reply = await wire.readReply();
  const last = reply.at(-1) ?? '';
  assert.ok(last.startsWith(`${code} `), `expected ${code}, got ${JSON.stringify(reply)}`);
  return last;
}

/** Resolves to the connection error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      done('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

describe('mta - graceful shutdown on SIGTERM', () => {
  let m: MtaProcess;

  before(async () => {
    m = await startMtaProcess({ name: 'shutdown', addresses: [`alice@${testDomain}`], shutdownTimeoutSeconds: 4 });
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  test('the message in flight gets 250 and is queued, new connections are refused, an idle session gets 421, exit 0', async () => {
    // Session A is in the middle of DATA; session B is idle after EHLO.
    const a = await SmtpWire.open(m.mx, 15_000);
    await expectReply(a, 220);
    a.send('EHLO a.test\r\n');
    await expectReply(a, 250);
    a.send('MAIL FROM:<sender@remote.test>\r\n');
    await expectReply(a, 250);
    a.send(`RCPT TO:<alice@${testDomain}>\r\n`);
    await expectReply(a, 250);
    a.send('DATA\r\n');
    await expectReply(a, 354);
    a.send('From: <sender@remote.test>\r\nSubject: in flight\r\n\r\nfirst half\r\n');

    const b = await SmtpWire.open(m.mx, 15_000);
    await expectReply(b, 220);
    b.send('EHLO b.test\r\n');
    await expectReply(b, 250);

    process.kill(m.mta.pid, 'SIGTERM');
    await waitFor('readiness to turn false', async () => (await m.ops('/readyz')).text.includes('shutting down'), { timeoutMs: 10_000, intervalMs: 50 });
    await waitFor('the listener to refuse new connections', async () => (await tryConnect(m.mx.port)) === 'ECONNREFUSED', {
      timeoutMs: 10_000,
      intervalMs: 50,
    });

    a.send('second half\r\n.\r\n');
    const accepted = await expectReply(a, 250);
    const queueId = /queued as (\S+)/.exec(accepted)?.[1];
    assert.ok(queueId, accepted);
    a.destroy();

    // B did nothing: at the deadline (4 s) it is told 421 and closed.
    const last = await b.readReply();
    assert.match(last.at(-1) ?? '', /^421 /);
    await b.waitClosed();

    assert.equal(await m.mta.exited, 0, 'an orderly stop exits 0');

    const show = spawnSync(process.execPath, [resolve(repoRoot, 'cli/stafette.ts'), 'queue', 'show', queueId, '--nats', m.nats.url], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`queue id: +${queueId}`));
    assert.match(show.stdout, new RegExp(`to: +<alice@${testDomain}>`));
  });
});
