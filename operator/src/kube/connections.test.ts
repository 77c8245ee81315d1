import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { countHttp, dispatcherKey, shareOneDispatcher } from './connections.ts';

type Factory = (cluster: unknown, options: Record<string, unknown>) => { close(): Promise<void> } | undefined;

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('ca').toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

test('client-node builds a new dispatcher per request; shared, the same one is handed out while the TLS material is the same', async () => {
  const kc = kubeConfig();
  const create = (k: KubeConfig) => (k as unknown as { createDispatcher: Factory }).createDispatcher.bind(k);
  const cluster = kc.getCurrentCluster();
  const ca = { ca: Buffer.from('ca') };
  // What this works around: without it every call is a new Agent (a new TLS connection per request).
  assert.notEqual(create(kc)(cluster, ca), create(kc)(cluster, ca));

  shareOneDispatcher(kc);
  shareOneDispatcher(kc); // idempotent
  const first = create(kc)(cluster, ca);
  assert.ok(first);
  assert.equal(create(kc)(cluster, { ca: Buffer.from('ca') }), first);

  // A rotated certificate: a new dispatcher, the old one closed.
  const rotated = create(kc)(cluster, { ca: Buffer.from('ca'), cert: Buffer.from('new') });
  assert.notEqual(rotated, first);
  assert.equal((first as unknown as { closed: boolean }).closed, true);
  await rotated?.close();
});

test('dispatcherKey depends on the server and the TLS material only', () => {
  const base = dispatcherKey({ server: 'https://a' }, { ca: Buffer.from('x') });
  assert.equal(dispatcherKey({ server: 'https://a', name: 'other' }, { ca: Buffer.from('x'), timeout: 5 }), base);
  assert.notEqual(dispatcherKey({ server: 'https://b' }, { ca: Buffer.from('x') }), base);
  assert.notEqual(dispatcherKey({ server: 'https://a' }, { ca: Buffer.from('y') }), base);
  assert.notEqual(dispatcherKey({ server: 'https://a' }, { ca: Buffer.from('x'), rejectUnauthorized: false }), base);
});

test('countHttp counts connections and requests of undici clients', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let connections = 0;
  let requests = 0;
  const stop = countHttp(
    () => (connections += 1),
    () => (requests += 1),
  );
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // Connection: close, so each request opens its own connection (a pool's reuse is client-node's test).
    for (let i = 0; i < 3; i += 1) assert.equal(await (await fetch(url, { headers: { connection: 'close' } })).text(), 'ok');
    assert.equal(requests, 3);
    assert.equal(connections, 3);
  } finally {
    stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await fetch(`http://127.0.0.1:1/`).catch(() => {});
  assert.equal(requests, 3, 'nothing counted after unsubscribe');
});
