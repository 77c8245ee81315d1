// The pod reports not-ready while NATS is down, and ready again when it is back, by itself;
// it stays alive (/healthz) throughout, so the kubelet does not restart it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll, waitFor } from '../harness/process.ts';
import { startMtaProcess, testDomain, type MtaProcess } from './mta-process.ts';

describe('mta - readiness follows NATS', () => {
  let m: MtaProcess;

  before(async () => {
    m = await startMtaProcess({ name: 'readiness', addresses: [`alice@${testDomain}`] });
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  test('with NATS up: ready, alive, and the queue gauge says so', async () => {
    assert.deepEqual(await m.ops('/readyz'), { status: 200, text: 'ready\n' });
    assert.equal((await m.ops('/healthz')).status, 200);
    assert.equal(await m.metric('stafette_queue_ready'), 1);
    assert.equal(await m.metric('stafette_queue_stats_up'), 1);
  });

  test('nats-server stopped: /readyz answers 503 with the reason, /healthz stays 200', async () => {
    await m.nats.stop();
    const notReady = await waitFor(
      '/readyz to fail',
      async () => {
        const r = await m.ops('/readyz');
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.match(notReady.text, /^not ready:\n- queue unavailable: NATS not connected/);
    assert.equal((await m.ops('/healthz')).status, 200);
    assert.equal(await m.metric('stafette_queue_ready'), 0);
    assert.equal(await m.metric('stafette_queue_stats_up'), 0);
  });

  test('nats-server back: ready again without a restart of the MTA', async () => {
    const pid = m.mta.pid;
    await m.nats.start();
    await waitFor('/readyz to pass again', async () => (await m.ops('/readyz')).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(m.mta.pid, pid);
    assert.equal(m.mta.child.exitCode, null);
    assert.equal(await m.metric('stafette_queue_ready'), 1);
  });
});
