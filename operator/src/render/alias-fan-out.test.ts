import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findAliasFanOut } from './render-addresses.ts';

test('an alias lattice within the bounds passes; over 1,000 targets or 10 steps is refused, memoised', () => {
  const aliases = new Map<string, { to: string[] }>();
  // 9 layers of 10 aliases, each to all of the next: 10^9 paths, 10 targets.
  for (let l = 0; l < 9; l++) {
    const next = Array.from({ length: 10 }, (_, i) => (l + 1 < 9 ? `a${l + 1}-${i}@x.test` : `m${i}@x.test`));
    for (let i = 0; i < 10; i++) aliases.set(`a${l}-${i}@x.test`, { to: next });
  }
  aliases.set('wide@x.test', { to: Array.from({ length: 1_001 }, (_, i) => `w${i}@y.test`) });
  for (let i = 0; i < 11; i++) aliases.set(`d${i}@x.test`, { to: [i < 10 ? `d${i + 1}@x.test` : 'bottom@x.test'] });
  const over = findAliasFanOut(aliases, new Set());
  assert.equal(over.get('a0-0@x.test'), undefined);
  assert.match(over.get('wide@x.test') ?? '', /more than 1000 addresses/);
  assert.match(over.get('d0@x.test') ?? '', /more than 10 alias steps/);
  assert.equal(over.get('d1@x.test'), undefined, 'ten steps are allowed');
});
