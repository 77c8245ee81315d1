// Our SRS codec against pysrs (an independent implementation, SRS.Guarded) on generated
// input: forward rewrites must be identical byte for byte, and each must reverse what the
// other made, across key rotation, SRS0/SRS1 nesting, case damage and expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { srsForward, srsReverse } from '../../mta/src/srs/srs.ts';

interface Request {
  op: 'forward' | 'reverse';
  address: string;
  domain: string;
  keys: string[];
  now: number;
}

function pysrs(requests: readonly Request[]): { ok: boolean; address?: string }[] {
  const input = requests.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'pysrs-forward.py')], { input }).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ok: boolean; address?: string });
}

// A small deterministic generator, so a failure names an input that can be replayed.
function* inputs(count: number): Generator<Request> {
  let seed = 20261118;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const pick = <T>(xs: readonly T[]) => xs[next() % xs.length]!;
  const locals = ['alice', 'Bob.Smith', 'x+tag', "o'brien", 'a_b-c', 'UPPER', 'n1', 'user=with=eq'];
  const hosts = ['sender.test', 'Mail.Example.ORG', 'xn--bcher-kva.example', 'a.b.c.test'];
  for (let i = 0; i < count; i++) {
    yield {
      op: 'forward',
      address: `${pick(locals)}@${pick(hosts)}`,
      domain: pick(['example.com', 'fwd.test']),
      keys: pick([['k1'], ['k2', 'k1'], ['a much longer secret with spaces']]),
      now: 1_700_000_000 + (next() % 400) * 86_400,
    };
  }
}

test('forward rewrites agree with pysrs byte for byte, and each side reverses the other', () => {
  const forwards = [...inputs(200)];
  // Nest: forward some results again through another domain with other keys (SRS0 → SRS1 → SRS1).
  const ours = forwards.map((r) => srsForward(r.address, r.domain, { keys: r.keys, now: () => r.now * 1000 }));
  const theirs = pysrs(forwards);
  ours.forEach((address, i) => assert.equal(address, theirs[i]!.address, JSON.stringify(forwards[i])));

  const nested = forwards.map((r, i) => ({ ...r, address: ours[i]!, domain: 'hop2.test', keys: ['hop2-key'] }));
  const nestedOurs = nested.map((r) => srsForward(r.address, r.domain, { keys: r.keys, now: () => r.now * 1000 }));
  pysrs(nested).forEach((t, i) => assert.equal(nestedOurs[i], t.address, JSON.stringify(nested[i])));

  // Reverse: what pysrs made, we reverse; what we made (and case-smashed), pysrs reverses.
  const reverses: Request[] = forwards.map((r, i) => ({ ...r, op: 'reverse', address: ours[i]!.toLowerCase() }));
  pysrs(reverses).forEach((t, i) => {
    const mine = srsReverse(reverses[i]!.address.split('@')[0]!, { keys: reverses[i]!.keys, now: () => reverses[i]!.now * 1000 });
    assert.equal(mine.ok, t.ok, JSON.stringify(reverses[i]));
    if (mine.ok && t.address) assert.equal(mine.address.toLowerCase(), t.address.toLowerCase());
  });

  // Expired for both after the maximum age.
  const late = reverses.map((r) => ({ ...r, now: r.now + 22 * 86_400 }));
  pysrs(late).forEach((t, i) => {
    assert.equal(t.ok, false);
    assert.equal(srsReverse(late[i]!.address.split('@')[0]!, { keys: late[i]!.keys, now: () => late[i]!.now * 1000 }).ok, false);
  });
});
