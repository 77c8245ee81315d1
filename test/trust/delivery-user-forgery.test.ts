// A process with the NATS delivery user cannot publish a job that gets signed (issue 12, "How it
// is proven"; docs/trust-model.md §2.2 and §5): the delivery user may not publish on the queue
// subjects (test/trust/nats-roles.test.ts), but it writes retry schedules (mail.defer.wait.<id>),
// which the server turns into due jobs. A real nats-server with the rendered role users, a real
// `stafette mta` connecting as intake and delivery with its seal key and a DKIM key for
// example.test: schedules published as the delivery user that claim an authenticated submission
// or one of our notices, without a seal, are delivered unsigned and counted; the same schedule
// sealed with the MTA's key is signed, so the seal alone makes the difference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { deferredJobVersion, encodeDeferredJob, type DeferredState } from '../../mta/src/delivery/deferred-job.ts';
import { deferredJobSubjects } from '../../mta/src/queue/deferred-names.ts';
import { createRecordSeal, newQueueId, type QueueRecord } from '../../mta/src/queue/index.ts';
import { sha256Hex } from '../../mta/src/queue/record.ts';
import { waitFor } from '../harness/process.ts';
import { dkimKey, testBundle, testDomain } from '../transports/transport-fixtures.ts';
import { startRoleMta, startRoleNats, type RoleMta, type RoleNats } from './nats-roles-fixture.ts';

const domain = 'example.test';
const sealKey = 'stafette-trust-delivery-user-seal-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'stafette-trust-forgery-'));
let nats: RoleNats;
let mta: RoleMta;
let delivery: NatsConnection;

before(async () => {
  const keyFile = join(dir, 'queue-seal.key');
  writeFileSync(keyFile, `${sealKey}\n`, { mode: 0o600 });
  const key = dkimKey('s1', 'ed25519');
  const source = { namespace: 'mail', name: 'fixture' };
  const bundle = testBundle(
    {
      domains: [testDomain(domain, [key])],
      mailboxes: [`alice@${domain}`, `bob@${domain}`].map((address) => ({ address, source, login: false, sendAs: [], delivery: { type: 'local' as const } })),
    },
    { keys: [{ domain, key }] },
  );
  nats = await startRoleNats({ name: 'nats-trust-forgery' });
  mta = await startRoleMta(nats, { name: 'trust-forgery', addresses: [], domain, bundle, extraArgs: ['--queue-seal-key-file', keyFile] });
  delivery = await nats.connectAs('delivery');
});

after(async () => {
  await delivery?.close().catch(() => undefined);
  await mta?.close();
  await nats?.server.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A retry schedule, due now, as the delivery user can write one: the record's claims and the seal given. */
async function publishSchedule(subject: string, claim: { listener: string; authUser: string | null }, seal: (r: QueueRecord) => string | undefined) {
  const body = Buffer.from(`From: alice@${domain}\r\nTo: bob@${domain}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@x>\r\n\r\nhi\r\n`);
  const queueId = newQueueId(Date.now());
  const record: QueueRecord = {
    v: 1,
    queueId,
    receivedAt: new Date().toISOString(),
    listener: claim.listener,
    client: { ip: '127.0.0.1', helo: 'forger', tls: null, authUser: claim.authUser },
    envelope: { mailFrom: { address: `alice@${domain}`, params: [] }, rcptTo: [{ address: `bob@${domain}`, params: [] }] },
    body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
  };
  const value = seal(record);
  const now = new Date();
  const state: DeferredState = {
    v: deferredJobVersion,
    failedAttempts: 1,
    firstAttemptAt: now.toISOString(),
    lastAttemptAt: now.toISOString(),
    notBefore: now.toISOString(),
    held: false,
    lastReplies: [],
  };
  const { wait, due } = deferredJobSubjects(queueId);
  await jetstream(delivery).publish(wait, encodeDeferredJob(state, value === undefined ? record : { ...record, seal: value }, body), {
    schedule: { specification: now, target: due },
  });
}

function delivered(subject: string): Promise<string> {
  return waitFor(
    `"${subject}" in bob's maildir`,
    () => {
      const box = join(mta.maildirRoot, `bob@${domain}`, 'new');
      const files = existsSync(box) ? readdirSync(box) : [];
      return files.map((f) => readFileSync(join(box, f), 'utf8')).find((m) => m.includes(`Subject: ${subject}`));
    },
    { timeoutMs: 30_000 },
  );
}

async function unsealedCount(reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${mta.opsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`stafette_delivery_unsealed_records_total{reason="${reason}"}`));
  return Number(line?.split(' ').pop() ?? NaN);
}

test('a job the delivery user schedules is delivered unsigned and counted unless intake sealed it', async () => {
  await publishSchedule('claims a login', { listener: 'submission', authUser: `alice@${domain}` }, () => undefined);
  await publishSchedule('claims a notice', { listener: 'dsn', authUser: null }, () => undefined);
  await publishSchedule('sealed by an MTA', { listener: 'submission', authUser: `alice@${domain}` }, (r) => createRecordSeal([Buffer.from(sealKey)]).seal(r));

  assert.match(await delivered('sealed by an MTA'), /^DKIM-Signature: [^]*d=example\.test/m);
  for (const subject of ['claims a login', 'claims a notice']) assert.doesNotMatch(await delivered(subject), /DKIM-Signature:/i, subject);
  assert.equal(await unsealedCount('missing'), 2);
  // The delivery user's schedules are its own permission; nothing else was tried.
  assert.deepEqual(nats.violations(), []);
});
