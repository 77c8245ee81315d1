import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countingWrites, type KubeClient } from './client.ts';

test('countingWrites counts each write by verb and leaves reads alone', async () => {
  const calls: string[] = [];
  const record =
    (name: string, value: unknown = undefined) =>
    () => {
      calls.push(name);
      return Promise.resolve(value);
    };
  const inner = {
    apply: record('apply', {}),
    createIfAbsent: record('create', true),
    applyStatus: record('status'),
    annotate: record('annotate'),
    get: record('get', null),
    delete: record('delete'),
    serves: record('serves', true),
  } as unknown as KubeClient;
  const verbs: string[] = [];
  const client = countingWrites(inner, (verb) => verbs.push(verb));
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace: 'n', name: 'x' };
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
  await client.createIfAbsent({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
  await client.applyStatus({ kind: 'Mailbox', namespace: 'n', name: 'm' }, {});
  await client.annotate(ref, { a: 'b' });
  await client.delete(ref);
  assert.equal(await client.get(ref), null);
  assert.equal(await client.serves('v1', 'Secret'), true);
  assert.deepEqual(verbs, ['apply', 'create', 'status', 'annotate', 'delete']);
  assert.deepEqual(calls, ['apply', 'create', 'status', 'annotate', 'delete', 'get', 'serves']);
});
