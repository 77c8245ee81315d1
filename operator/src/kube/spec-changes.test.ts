import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpecChanges } from './spec-changes.ts';

const mailbox = (generation: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'stafette.dev/v1alpha1',
  kind: 'Mailbox',
  metadata: { namespace: 'mail', name: 'alice', uid: 'u1', generation, resourceVersion: String(Math.random()), ...extra },
});

test('a status-only update is not a change; a new generation, label, annotation or deletion is', () => {
  const changes = new SpecChanges();
  assert.equal(changes.changed(mailbox(1), 'add'), true);
  // The operator's own status write: a new resourceVersion, the same generation.
  assert.equal(changes.changed({ ...mailbox(1), status: { observedGeneration: 1 } } as never, 'update'), false);
  assert.equal(changes.changed(mailbox(2), 'update'), true);
  assert.equal(changes.changed(mailbox(2, { labels: { team: 'a' } }), 'update'), true);
  assert.equal(changes.changed(mailbox(2, { labels: { team: 'a' }, annotations: { note: 'x' } }), 'update'), true);
  assert.equal(changes.changed(mailbox(2, { labels: { team: 'a' }, annotations: { note: 'x' }, deletionTimestamp: '2026-12-02T00:00:00Z' }), 'update'), true);
});

test('a relist re-delivering an unchanged object is not a change; one deleted and created again is', () => {
  const changes = new SpecChanges();
  changes.changed(mailbox(3), 'add');
  assert.equal(changes.changed(mailbox(3), 'add'), false);
  assert.equal(changes.changed(mailbox(3), 'delete'), true);
  assert.equal(changes.changed(mailbox(3), 'add'), true);
  assert.equal(changes.changed({ ...mailbox(3), metadata: { ...mailbox(3).metadata, uid: 'u2' } }, 'update'), true);
});
