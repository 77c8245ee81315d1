import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleApiVersion, type Bundle, type BundleAlias, type BundleDomain, type BundleMailbox } from '../../bundle/schema.ts';
import { directoryOf } from './directory.ts';

const source = { namespace: 'mail', name: 'fixture' };
const domain: BundleDomain = {
  domain: 'example.test',
  hostname: 'mx.example.test',
  source,
  dkim: { signing: [], selectors: [] },
  tls: null,
  inbound: { catchAll: null, maxMessageSize: 1 << 20, maxRecipients: 100, dmarc: 'report' },
  outbound: { relay: null },
};
const mailbox = (address: string): BundleMailbox => ({ address, source, login: false, sendAs: [], delivery: { type: 'local' } });
const bundle = (mailboxes: BundleMailbox[], aliases: BundleAlias[]): Bundle => ({
  apiVersion: bundleApiVersion,
  revision: 'r1',
  domains: [domain],
  mailboxes,
  aliases,
  relays: [],
});

/** `levels` layers of `width` aliases, each pointing at every alias of the next layer: width^levels paths. */
function lattice(levels: number, width: number, leaves: number): Bundle {
  const mailboxes = Array.from({ length: leaves }, (_, i) => mailbox(`m${i}@example.test`));
  const aliases: BundleAlias[] = [];
  for (let l = 0; l < levels; l++) {
    const next = l + 1 < levels ? Array.from({ length: width }, (_, i) => `a${l + 1}-${i}@example.test`) : mailboxes.map((m) => m.address);
    for (let i = 0; i < width; i++) aliases.push({ address: `a${l}-${i}@example.test`, to: next, source });
  }
  return bundle(mailboxes, aliases);
}

test('a lattice of aliases (10^9 paths) expands once per alias, to its distinct mailboxes', () => {
  const result = directoryOf(lattice(9, 10, 10)).expand('a0-0@example.test');
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.targets.length, 10);
});

test('more targets than the cap is the too-many problem; a lower cap applies per call', () => {
  const wide = lattice(2, 10, 1_001);
  const over = directoryOf(wide).expand('a0-0@example.test');
  assert.deepEqual(over.ok ? null : over.problem, 'too-many');
  const capped = directoryOf(lattice(2, 10, 20)).expand('a0-0@example.test', { maxTargets: 19 });
  assert.deepEqual(capped.ok ? null : capped.problem, 'too-many');
});

test('a chain deeper than the limit is too-deep, a loop is loop, an unknown target is unknown', () => {
  const deep = directoryOf(lattice(11, 1, 1)).expand('a0-0@example.test');
  assert.deepEqual(deep.ok ? null : deep.problem, 'too-deep');
  assert.equal(directoryOf(lattice(10, 1, 1)).expand('a0-0@example.test').ok, true);
  const loop = bundle(
    [],
    [
      { address: 'x@example.test', to: ['y@example.test'], source },
      { address: 'y@example.test', to: ['x@example.test'], source },
    ],
  );
  const looped = directoryOf(loop).expand('x@example.test');
  assert.deepEqual(looped.ok ? null : looped.problem, 'loop');
  const unknown = directoryOf(bundle([], [{ address: 'x@example.test', to: ['nobody@example.test'], source }])).expand('X@Example.test');
  assert.deepEqual(unknown.ok ? null : [unknown.problem, unknown.address], ['unknown', 'nobody@example.test']);
});

test('remote targets keep their spelling and are distinct per address', () => {
  const b = bundle([], [{ address: 'x@example.test', to: ['Bob@Remote.test', 'bob@remote.test', 'Bob@Remote.test'], source }]);
  const result = directoryOf(b).expand('x@example.test');
  assert.deepEqual(result.ok && result.targets, [
    { kind: 'remote', address: 'Bob@Remote.test', domain: 'remote.test' },
    { kind: 'remote', address: 'bob@remote.test', domain: 'remote.test' },
  ]);
});
