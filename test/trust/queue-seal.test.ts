// The queue seal end to end (docs/trust-model.md §2.2): a real `stafette mta` with its seal key
// from a file, a real nats-server, a remote MX (far.test). A job published straight to the
// queue subject that claims an authenticated submission by alice@example.test, without a seal
// or with a wrong one, is delivered but not DKIM-signed, and counted; the same job sealed with
// the MTA's key is signed, so the difference is the seal alone. The same for a job published
// as a due retry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createRecordSeal,
  encodeRecord,
  jobSubject,
  defaultQueueSettings,
  newQueueId,
  queueConnectOptions,
  type QueueRecord,
} from '../../mta/src/queue/index.ts';
import { sha256Hex } from '../../mta/src/queue/record.ts';
import { deferredJobSubjects } from '../../mta/src/queue/deferred-names.ts';
import { deferredJobVersion, encodeDeferredJob, type DeferredState } from '../../mta/src/delivery/deferred-job.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

const sealKey = 'stafette-trust-test-seal-key-0123456789abcdef';

describe('trust - delivery signs only what intake sealed', () => {
  let m: StandardsMta;
  let nc: NatsConnection;
  before(async () => {
    const keyFile = join(process.env.TMPDIR ?? '/tmp', `stafette-seal-${process.pid}.key`);
    writeFileSync(keyFile, `${sealKey}\n`, { mode: 0o600 });
    m = await startStandardsMta('trust-seal', { mtaArgs: ['--queue-seal-key-file', keyFile] });
    nc = await connect(queueConnectOptions({ servers: [m.nats.url], name: 'forger' }));
  });
  after(async () => {
    await nc?.close();
    await m?.close();
    await stopAll();
  });

  /** Publishes a job as anything that can reach NATS could: an auth claim, and the seal given; as fresh mail or as a due retry. */
  async function publishJob(subject: string, seal: (r: QueueRecord) => string | undefined, as: 'fresh' | 'retry' = 'fresh'): Promise<void> {
    const body = Buffer.from(
      `From: alice@example.test\r\nTo: carol@far.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '')}@x>\r\n\r\nhi\r\n`,
    );
    const queueId = newQueueId(Date.now());
    const record: QueueRecord = {
      v: 1,
      queueId,
      receivedAt: new Date().toISOString(),
      listener: 'submission',
      client: { ip: '127.0.0.1', helo: 'forger', tls: null, authUser: 'alice@example.test' },
      envelope: { mailFrom: { address: 'alice@example.test', params: [] }, rcptTo: [{ address: 'carol@far.test', params: [] }] },
      body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
    };
    const value = seal(record);
    const sealed = value === undefined ? record : { ...record, seal: value };
    if (as === 'fresh') {
      await jetstream(nc).publish(jobSubject(defaultQueueSettings, queueId), encodeRecord(sealed, body), { msgID: queueId });
      return;
    }
    const now = new Date().toISOString();
    const state: DeferredState = {
      v: deferredJobVersion,
      failedAttempts: 1,
      firstAttemptAt: now,
      lastAttemptAt: now,
      notBefore: now,
      held: false,
      lastReplies: [],
    };
    await jetstream(nc).publish(deferredJobSubjects(queueId).due, encodeDeferredJob(state, sealed, body));
  }

  const arrived = (subject: string) =>
    waitFor(`"${subject}" at far.test`, () => m.far.messages.find((x) => x.data.includes(`Subject: ${subject}`)), { timeoutMs: 30_000 });

  async function unsealedCount(reason: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${m.opsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`stafette_delivery_unsealed_records_total{reason="${reason}"}`));
    return Number(line?.split(' ').pop() ?? NaN);
  }

  test('a forged job without a seal or with a wrong one is delivered unsigned and counted; a sealed one is signed', async () => {
    await publishJob('no seal', () => undefined);
    await publishJob('wrong seal', (r) => createRecordSeal([Buffer.from('not-the-mta-key-but-long-enough-0123456789')]).seal(r));
    await publishJob('right seal', (r) => createRecordSeal([Buffer.from(sealKey)]).seal(r));

    const sealed = await arrived('right seal');
    assert.match(sealed.data.toString(), /^DKIM-Signature: [^]*d=example\.test/);
    for (const subject of ['no seal', 'wrong seal']) {
      const copy = await arrived(subject);
      assert.doesNotMatch(copy.data.toString(), /DKIM-Signature:/i, subject);
    }
    assert.equal(await unsealedCount('missing'), 1);
    assert.equal(await unsealedCount('invalid'), 1);
  });

  test('the same holds for a forged job published as a due retry (mail.defer.due.<id>)', async () => {
    await publishJob('retry no seal', () => undefined, 'retry');
    await publishJob('retry right seal', (r) => createRecordSeal([Buffer.from(sealKey)]).seal(r), 'retry');
    assert.match((await arrived('retry right seal')).data.toString(), /^DKIM-Signature: [^]*d=example\.test/);
    assert.doesNotMatch((await arrived('retry no seal')).data.toString(), /DKIM-Signature:/i);
    assert.equal(await unsealedCount('missing'), 2);
  });
});
