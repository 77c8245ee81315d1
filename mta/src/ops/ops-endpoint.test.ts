// The MTA's operations endpoint as the kubelet and Prometheus see it: the shared server
// (observability/ops-server.ts) answering with the pod's readiness (pod-readiness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOpsServer } from '../../../observability/ops-server.ts';
import { createPodReadiness } from './pod-readiness.ts';

test('/healthz, /readyz and /metrics answer in plain text; unknown paths are 404', async (t) => {
  let queueReady = true;
  let bundle = true;
  const queueStates: boolean[] = [];
  const readiness = createPodReadiness({
    checkQueue: () => Promise.resolve(queueReady ? { ready: true, reason: null } : { ready: false, reason: 'NATS not connected' }),
    hasBundle: () => bundle,
    onQueueState: (ready) => queueStates.push(ready),
  });
  const server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    readiness: () => readiness.check(),
    metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: 'stafette_queue_ready 1\n' }),
  });
  t.after(() => server.close());
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };

  assert.deepEqual(await get('/healthz'), { status: 200, text: 'ok\n', type: 'text/plain; charset=utf-8' });
  assert.equal((await get('/readyz')).status, 200);
  assert.deepEqual(await get('/metrics'), { status: 200, text: 'stafette_queue_ready 1\n', type: 'text/plain; version=0.0.4; charset=utf-8' });
  assert.equal((await get('/nope')).status, 404);

  queueReady = false;
  bundle = false;
  assert.deepEqual(await get('/readyz'), {
    status: 503,
    text: 'not ready:\n- no valid configuration bundle loaded yet\n- queue unavailable: NATS not connected\n',
    type: 'text/plain; charset=utf-8',
  });
  assert.deepEqual(queueStates, [true, false]);

  queueReady = true;
  bundle = true;
  readiness.beginShutdown();
  assert.deepEqual(await get('/readyz'), { status: 503, text: 'not ready:\n- shutting down\n', type: 'text/plain; charset=utf-8' });
  assert.equal((await get('/healthz')).status, 200, 'a pod shutting down is still alive');
});

test('a failing readiness check answers 500 and is reported, and the server keeps serving', async (t) => {
  const failures: string[] = [];
  const server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    readiness: () => Promise.reject(new Error('boom')),
    metrics: () => Promise.resolve({ contentType: 'text/plain', text: '' }),
    onError: (path) => failures.push(path),
  });
  t.after(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  assert.equal(res.status, 500);
  await res.text();
  assert.deepEqual(failures, ['/readyz']);
  assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status, 200);
});
