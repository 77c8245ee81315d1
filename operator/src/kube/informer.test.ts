import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutManagedFields } from './informer.ts';

test('the cached object loses its managedFields in place, and keeps everything else', () => {
  const cached = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'a', namespace: 'n', resourceVersion: '7', managedFields: [{ manager: 'kubectl', operation: 'Apply' }] },
  };
  const same = withoutManagedFields(cached);
  assert.equal(same, cached);
  assert.deepEqual(cached, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'n', resourceVersion: '7' } });
});
