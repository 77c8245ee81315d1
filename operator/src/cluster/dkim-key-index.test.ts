// The DKIM key index follows the Secret cache one Secret at a time, and counts a key only
// for the MailDomain that owns its Secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { apiVersion, type MailDomain } from '../../../crds/src/index.ts';
import { dkimSecret, stateAnnotation } from '../children/dkim-secret.ts';
import { DkimKeyIndex, type CachedSecret } from './dkim-key-index.ts';

const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const domain = (name: string, uid: string): MailDomain => ({
  apiVersion,
  kind: 'MailDomain',
  metadata: { name, namespace: 'mail', uid },
  spec: { domain: `${name}.example` },
});
const a = domain('a', 'uid-a');
const b = domain('b', 'uid-b');
const now = new Date('2026-01-01T00:00:00Z');
let version = 0;
const secretOf = (d: MailDomain, selector: string, state: 'Published' | 'Signing' = 'Signing'): CachedSecret => {
  const s = dkimSecret(d, selector, pem, state, now);
  version += 1;
  return { ...s, metadata: { ...s.metadata, namespace: 'mail', uid: `secret-${s.metadata.name}`, resourceVersion: String(version) } };
};

/** A Secret cache as the informer keeps it, counting full listings. */
function cache(initial: CachedSecret[]) {
  const objects = new Map(initial.map((s) => [s.metadata.name, s]));
  const counts = { lists: 0 };
  return {
    counts,
    put: (s: CachedSecret) => objects.set(s.metadata.name, s),
    remove: (name: string) => objects.delete(name),
    list: () => {
      counts.lists += 1;
      return [...objects.values()];
    },
    get: (_ns: string, name: string) => objects.get(name),
  };
}

const selectors = (index: DkimKeyIndex, d: MailDomain) => index.keysOf(d).map((k) => `${k.selector}:${k.state}`);

test('keys are grouped by owning MailDomain once, then kept up to date per Secret event without listing again', () => {
  const secrets = cache([secretOf(a, 's2'), secretOf(b, 's1')]);
  const index = new DkimKeyIndex(secrets);
  assert.deepEqual(selectors(index, a), ['s2:Signing']);
  assert.deepEqual(selectors(index, b), ['s1:Signing']);

  // Added: listed in selector order, whatever order the events came in.
  secrets.put(secretOf(a, 's1', 'Published'));
  index.changed('mail', 'a-dkim-s1');
  assert.deepEqual(selectors(index, a), ['s1:Published', 's2:Signing']);

  // Updated (the operator's annotation write): the new state.
  const promoted = secretOf(a, 's1');
  promoted.metadata.annotations = { ...promoted.metadata.annotations, [stateAnnotation]: 'Signing' };
  secrets.put(promoted);
  index.changed('mail', 'a-dkim-s1');
  assert.deepEqual(selectors(index, a), ['s1:Signing', 's2:Signing']);

  // Deleted.
  secrets.remove('a-dkim-s2');
  index.changed('mail', 'a-dkim-s2');
  assert.deepEqual(selectors(index, a), ['s1:Signing']);
  assert.deepEqual(selectors(index, b), ['s1:Signing']);
  assert.equal(secrets.counts.lists, 1);
});

test('a Secret whose domain label is taken away, or that another MailDomain owns, gives no key', () => {
  const secrets = cache([secretOf(a, 's1')]);
  const index = new DkimKeyIndex(secrets);
  assert.equal(index.keysOf(a).length, 1);

  const unlabelled = secretOf(a, 's1');
  unlabelled.metadata.labels = {};
  secrets.put(unlabelled);
  index.changed('mail', 'a-dkim-s1');
  assert.deepEqual(index.keysOf(a), []);

  // Labelled for a, but owned by b: a key for neither.
  const squatted = secretOf(b, 's9');
  squatted.metadata.labels = { ...squatted.metadata.labels, 'stafette.dev/maildomain': 'a' };
  secrets.put(squatted);
  index.changed('mail', 'b-dkim-s9');
  assert.deepEqual(index.keysOf(a), []);
  assert.deepEqual(index.keysOf(b), []);
});

test('events before the first question are read from the cache when it is asked', () => {
  const secrets = cache([]);
  const index = new DkimKeyIndex(secrets);
  secrets.put(secretOf(a, 's1'));
  index.changed('mail', 'a-dkim-s1');
  assert.equal(secrets.counts.lists, 0);
  assert.deepEqual(selectors(index, a), ['s1:Signing']);
});
