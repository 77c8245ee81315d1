// NATS roles against a real nats-server with the authorization nats-roles.ts renders
// (docs/trust-model.md "NATS roles and TLS"): the full intake → delivery flow works with the
// role users and trips no permission; the MTA's users cannot purge, delete or reconfigure a
// stream that holds mail; intake cannot read or consume a job; delivery cannot publish a job.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isPermissionDenied } from '../../mta/src/queue/setup.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { waitFor } from '../harness/process.ts';
import { startRoleMta, startRoleNats, type RoleMta, type RoleNats } from './nats-roles-fixture.ts';

const domain = 'example.test';
const cli = resolve(import.meta.dirname, '../../cli/stafette.ts');
let nats: RoleNats;
let mta: RoleMta;
const conns: NatsConnection[] = [];

before(async () => {
  nats = await startRoleNats({ name: 'nats-trust' });
  mta = await startRoleMta(nats, { name: 'trust-roles', addresses: [`bob@${domain}`, `carol@${domain}`], domain });
});

after(async () => {
  if (process.env.STAFETTE_KEEP_TEST_DIRS) console.error(nats?.violations().join('\n'));
  for (const nc of conns) await nc.close().catch(() => undefined);
  await mta?.close();
  await nats?.server.destroy();
});

async function as(role: 'intake' | 'delivery' | 'admin'): Promise<NatsConnection> {
  const nc = await nats.connectAs(role);
  conns.push(nc);
  return nc;
}

const refused = (err: unknown) => isPermissionDenied(err) || /deny|not permitted|permission/i.test(String(err));

function mails(address: string): string[] {
  try {
    return readdirSync(join(mta.maildirRoot, address, 'new'));
  } catch {
    return [];
  }
}

test('mail flows from intake to delivery with the role users, without a single permissions violation', async () => {
  const small = Buffer.from(`From: a@elsewhere.example\r\nTo: bob@${domain}\r\nSubject: small\r\n\r\nhello\r\n`);
  // Larger than max_payload (1 MiB): the body goes through the Object Store, read and deleted by delivery.
  const large = Buffer.concat([
    Buffer.from(`From: a@elsewhere.example\r\nTo: bob@${domain}\r\nSubject: large\r\n\r\n`),
    Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(1600)),
  ]);
  for (const message of [small, large]) {
    const reply = await sendMessage({ host: mta.mx.host, port: mta.mx.port, from: 'a@elsewhere.example', to: [`bob@${domain}`], message });
    assert.match(reply, /^250 /);
  }
  await waitFor('both messages in the maildir', () => mails(`bob@${domain}`).length === 2, { timeoutMs: 30_000 });
  const jsm = await jetstreamManager(await as('admin'));
  const chunks = async () => Object.keys((await jsm.streams.info('OBJ_mailbody', { subjects_filter: '$O.mailbody.C.>' })).state.subjects ?? {}).length;
  await waitFor('the large body deleted after delivery', async () => (await chunks()) === 0, { timeoutMs: 10_000 });
  assert.deepEqual(nats.violations(), []);
  assert.doesNotMatch(readFileSync(mta.mta.logFile, 'utf8'), /"level":"error"|violation/i);
});

test('a streamed message refused after DATA leaves nothing in the body bucket and trips no permission (the delivery user deletes it)', async () => {
  // Past the stream threshold (1 MiB): written to the Object Store during DATA as the intake
  // user, then refused for a line over 998 octets; the intake user may not purge.
  const refusedMessage = Buffer.concat([
    Buffer.from(`From: a@elsewhere.example\r\nTo: bob@${domain}\r\nSubject: refused\r\n\r\n`),
    Buffer.from(`${'y'.repeat(76)}\r\n`.repeat(30_000)),
    Buffer.from(`${'z'.repeat(5000)}\r\n`),
  ]);
  const reply = await sendMessage({ host: mta.mx.host, port: mta.mx.port, from: 'a@elsewhere.example', to: [`bob@${domain}`], message: refusedMessage });
  assert.match(reply, /^5\d\d 5\.6\.0/);
  const jsm = await jetstreamManager(await as('admin'));
  const left = async () => {
    const info = await jsm.streams.info('OBJ_mailbody', { subjects_filter: '$O.mailbody.C.>' });
    return Object.keys(info.state.subjects ?? {}).length;
  };
  await waitFor('the refused body deleted', async () => (await left()) === 0, { timeoutMs: 10_000 });
  assert.deepEqual(nats.violations(), []);
});

test("a deferred recipient: ledger, retry schedule, the admin's retry and delete, and the retry consumer work with the role users", async () => {
  // carol's maildir cannot be created (a file is in the way): a transient failure, so bob is
  // recorded in the ledger and carol waits in MAILQ_DEFER.
  mkdirSync(mta.maildirRoot, { recursive: true });
  const bobBefore = mails(`bob@${domain}`).length;
  writeFileSync(join(mta.maildirRoot, `carol@${domain}`), 'in the way');
  const message = Buffer.from(`From: a@elsewhere.example\r\nTo: bob@${domain}, carol@${domain}\r\nSubject: deferred\r\n\r\nhello\r\n`);
  const reply = await sendMessage({ host: mta.mx.host, port: mta.mx.port, from: 'a@elsewhere.example', to: [`bob@${domain}`, `carol@${domain}`], message });
  assert.match(reply, /^250 /);
  const queueId = reply.trim().split(' ').pop()!;
  await waitFor('bob delivered', () => mails(`bob@${domain}`).length === bobBefore + 1, { timeoutMs: 30_000 });
  const admin = async (args: string[]) =>
    await promisify(execFile)(process.execPath, [cli, ...args, '--nats', nats.server.url], {
      env: { ...process.env, STAFETTE_NATS_USER: 'stafette-admin', STAFETTE_NATS_PASSWORD: nats.passwords.admin },
    });
  await waitFor('carol deferred', async () => (await admin(['queue', 'deferred'])).stdout.includes(queueId), { timeoutMs: 30_000 });
  // The retry consumer takes the due retry at once and defers it again (the maildir is still
  // blocked; and a failed destination is skipped for a minute anyway).
  const retried = await admin(['queue', 'retry', queueId]);
  assert.match(retried.stdout, /retry done/);
  const attempts = async () =>
    (JSON.parse((await admin(['queue', 'deferred', '--json'])).stdout) as { entries: { queueId: string; failedAttempts: number }[] }).entries.find(
      (e) => e.queueId === queueId,
    )?.failedAttempts;
  await waitFor('the second attempt, through the retry consumer', async () => (await attempts()) === 2, { timeoutMs: 30_000 });
  assert.equal(mails(`bob@${domain}`).length, bobBefore + 1, 'bob got one copy');
  assert.match((await admin(['queue', 'delete', queueId])).stdout, /delete done/);
  assert.equal(await attempts(), undefined);
  rmSync(join(mta.maildirRoot, `carol@${domain}`));
  // The queue and delivery metrics read the streams through the role connections too.
  assert.equal((await fetch(`http://127.0.0.1:${mta.opsPort}/metrics`)).status, 200);
  assert.deepEqual(nats.violations(), []);
});

test("the MTA's users cannot purge, delete or reconfigure a stream that holds mail", async () => {
  for (const role of ['intake', 'delivery'] as const) {
    const jsm = await jetstreamManager(await as(role));
    for (const stream of ['MAILQ', 'MAILQ_DEFER', 'MAILQ_DONE', 'OBJ_mailbody']) {
      await assert.rejects(jsm.streams.delete(stream), refused, `${role} deleted ${stream}`);
      if (!(role === 'delivery' && stream === 'OBJ_mailbody')) await assert.rejects(jsm.streams.purge(stream), refused, `${role} purged ${stream}`);
    }
    // An update is as good as a purge (a max_age of one second), so neither role may.
    await assert.rejects(jsm.streams.update('MAILQ', { max_age: 1_000_000_000 }), refused, `${role} updated MAILQ`);
    await assert.rejects(jsm.streams.deleteMessage('MAILQ_DONE', 1), refused, `${role} deleted a ledger entry`);
  }
  // Even the admin cannot purge the job stream or the ledger: the streams deny it themselves.
  const admin = await jetstreamManager(await as('admin'));
  for (const stream of ['MAILQ', 'MAILQ_DONE']) await assert.rejects(admin.streams.purge(stream), /purge/i);
  await assert.rejects(admin.streams.deleteMessage('MAILQ', 1), /delete/i);
});

test('the intake user cannot read or consume a job', async () => {
  const nc = await as('intake');
  const js = jetstream(nc);
  // A pull request on the shared consumer is refused outright (a consumer's next() only sees missed heartbeats).
  await assert.rejects(nc.request('$JS.API.CONSUMER.MSG.NEXT.MAILQ.delivery', JSON.stringify({ batch: 1, expires: 1_000_000_000 })), refused);
  await assert.rejects((await js.consumers.get('MAILQ', 'delivery')).next({ expires: 2_000 }));
  const jsm = await jetstreamManager(nc);
  await assert.rejects(jsm.streams.getMessage('MAILQ', { seq: 1 }), refused);
  await assert.rejects(jsm.consumers.add('MAILQ', { durable_name: 'thief' }), refused);
  // Nor listen to mail as it is published, or to another role's replies.
  for (const subject of ['mail.queue.>', '_INBOX.>', '_INBOX_stafette_delivery.>']) {
    // The server refuses the subscription; nats.js then closes it with the violation.
    const closed = await nc.subscribe(subject).closed.then(
      (err) => err,
      (err: unknown) => err,
    );
    assert.ok(refused(closed), `${subject}: ${String(closed)}`);
  }
});

test('the delivery user cannot publish to the queue subject, so it cannot inject a job', async () => {
  const js = jetstream(await as('delivery'));
  await assert.rejects(js.publish('mail.queue.job.01JD0000000000000000000000', 'forged', { timeout: 3_000 }), refused);
  await assert.rejects(js.publish('mail.defer.due.01JD0000000000000000000000', 'forged', { timeout: 3_000 }), refused);
  // The server saw and logged the refusals (so the flow test's empty list means something).
  // The client hears the refusal before the server's log line reaches the file: wait for it
  // (a CI run read the log 16 ms after the publish, before the line was there).
  const logged = () => nats.violations().some((l) => l.includes('mail.queue.job.01JD0000000000000000000000'));
  await waitFor('the refusal in the server log', logged, { timeoutMs: 5_000 }).catch(() => undefined);
  assert.ok(logged(), nats.violations().join('\n'));
});

test('the queue CLI works as the admin user, and only it applies a changed setting', async () => {
  const run = async (args: string[], user: string, password: string) =>
    await promisify(execFile)(process.execPath, [cli, ...args, '--nats', nats.server.url], {
      env: { ...process.env, STAFETTE_NATS_USER: user, STAFETTE_NATS_PASSWORD: password },
    });
  const stats = await run(['queue', 'stats'], 'stafette-admin', nats.passwords.admin);
  assert.match(stats.stdout, /MAILQ/);
  await assert.rejects(run(['queue', 'setup', '--queue-max-bytes', '50000000'], 'stafette-intake', nats.passwords.intake), /not permitted|violation/i);
  const setup = await run(['queue', 'setup', '--queue-max-bytes', '50000000'], 'stafette-admin', nats.passwords.admin);
  assert.match(setup.stdout, /MAILQ: updated/);
  const jsm = await jetstreamManager(await as('admin'));
  assert.equal((await jsm.streams.info('MAILQ')).config.max_bytes, 50_000_000);
});
