// Fuzzing the bundle loader and check (bundle/files.ts, bundle/check.ts, docs/fuzzing.md): the
// MTA reads whatever is mounted. Arbitrary files, arbitrary JSON and mutated valid bundles are
// refused with a list of reasons or accepted; nothing throws, nothing hangs, and an accepted
// bundle is accepted again as it came out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { checkBundle } from '../bundle/check.ts';
import { decodeBundleFiles, encodeBundleFiles } from '../bundle/files.ts';
import { validTestBundle } from '../bundle/test-bundle.ts';
import { bundleApiVersion, type Bundle, type BundleSecrets } from '../bundle/schema.ts';
import { fuzz, mutated, trickyBytes, trickyString } from './settings.ts';

// A consistent bundle (bundle/test-bundle.ts), with a precomputed password hash.
const valid = () => validTestBundle(validHash);

// scrypt parameters and salt as bundle/password-hash.ts writes them; computed once, at load.
const { hashPassword } = await import('../bundle/password-hash.ts');
const validHash = hashPassword('alice');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Every path to a value inside a JSON tree.
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const paths = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths.push(...pathsOf(v, [...prefix, k]));
  return paths;
}

const replacement: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  trickyString(80),
  fc.constantFrom<Json>(null, '', 0, -1, 1e308, 2 ** 53, [], {}, 'alice@example.com', 'ALICE@EXAMPLE.COM', 'example.com.', 'mail/smart', 'x'.repeat(5000)),
);
interface Edit {
  readonly at: number;
  readonly kind: 'replace' | 'delete' | 'duplicate' | 'rename';
  readonly value: Json;
  readonly key: string;
}
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace' as const, 'delete' as const, 'duplicate' as const, 'rename' as const),
  value: replacement,
  key: trickyString(12),
});

function applyEdit(tree: Json, e: Edit): Json {
  const paths = pathsOf(tree);
  const path = paths[e.at % paths.length]!;
  if (path.length === 0) return e.kind === 'replace' ? e.value : tree;
  const parent = path.slice(0, -1).reduce<Json>((node, p) => (node as Record<string | number, Json>)[p]!, tree) as Record<string | number, Json> | Json[];
  const last = path.at(-1)!;
  if (Array.isArray(parent) && typeof last === 'number') {
    if (e.kind === 'delete') parent.splice(last, 1);
    else if (e.kind === 'duplicate') parent.splice(last, 0, structuredClone(parent[last]!));
    else parent[last] = e.value;
  } else {
    const object = parent as Record<string, Json>;
    const old = object[last]!;
    if (e.kind === 'delete') delete object[last];
    else if (e.kind === 'rename') {
      delete object[last];
      object[e.key] = old;
    } else object[last] = e.kind === 'duplicate' ? structuredClone(old) : e.value;
  }
  return tree;
}

const edits = fc.array(edit, { minLength: 1, maxLength: 5 });

function mutatedPart(part: Bundle | BundleSecrets, list: readonly Edit[]): Json {
  let tree = structuredClone(part) as unknown as Json;
  for (const e of list) tree = applyEdit(tree, e);
  return tree;
}

function checkedWithoutThrowing(config: unknown, secrets: unknown): ReturnType<typeof checkBundle> {
  const result = checkBundle(config, secrets);
  if (result.ok) {
    // What was accepted is accepted again: the check is a fixed point of its own output.
    const again = checkBundle(structuredClone(result.bundle), structuredClone(result.secrets));
    assert.ok(again.ok, `accepted bundle refused on a second check: ${again.ok ? '' : again.errors.join('; ')}`);
  } else {
    assert.ok(result.errors.length > 0);
    for (const error of result.errors) assert.ok(typeof error === 'string' && error.length > 0);
  }
  return result;
}

test('bundle - the valid bundle used for mutation is accepted', () => {
  const { bundle, secrets } = valid();
  assert.ok(checkBundle(bundle, secrets).ok);
});

test('bundle - arbitrary JSON is refused with reasons, never an exception', () => {
  const withVersion = fc.dictionary(
    fc.constantFrom('apiVersion', 'revision', 'domains', 'mailboxes', 'aliases', 'relays', 'passwords', 'dkimKeys'),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const part = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    withVersion.map((o) => ({ ...o, apiVersion: bundleApiVersion })),
  );
  fuzz(
    fc.property(part, part, (config, secrets) => {
      checkedWithoutThrowing(config, secrets);
    }),
    1500,
  );
});

test('bundle - mutated valid bundles are refused with reasons or accepted consistently', () => {
  fuzz(
    fc.property(edits, edits, fc.boolean(), (configEdits, secretEdits, both) => {
      const { bundle, secrets } = valid();
      checkedWithoutThrowing(mutatedPart(bundle, configEdits), both ? mutatedPart(secrets, secretEdits) : secrets);
    }),
    2400,
  );
});

test('bundle - the file loader refuses arbitrary and mutated files with a reason, quickly', () => {
  const { bundle, secrets } = valid();
  const good = encodeBundleFiles(bundle, secrets, 2);
  const shardName = fc.oneof(
    fc.tuple(fc.nat(4), fc.nat(4)).map(([i, n]) => `secrets-${i}-of-${n}.json.gz`),
    fc.constantFrom('secrets-0-of-100000000.json.gz', 'secrets-0-of-4294967296.json.gz', 'secrets-00-of-02.json.gz', 'secrets-0-of-1e9.json.gz'),
  );
  const files = fc.record({
    config: fc.oneof(mutated(good.config), trickyBytes(256), fc.constant(new Uint8Array(good.config))),
    plain: fc.option(
      fc.oneof(
        trickyBytes(256),
        fc.jsonValue().map((v) => new Uint8Array(Buffer.from(JSON.stringify(v)))),
      ),
    ),
    shards: fc.array(
      fc.tuple(
        shardName,
        fc.oneof(
          ...good.secretShards.map((s) => mutated(s)),
          fc.jsonValue().map((v) => new Uint8Array(gzipSync(JSON.stringify(v)))),
        ),
      ),
      { maxLength: 4 },
    ),
    secretsJson: fc.option(trickyBytes(128)),
  });
  fuzz(
    fc.property(files, (f) => {
      const map = new Map<string, Buffer>([['bundle.json.gz', Buffer.from(f.config)]]);
      if (f.plain) map.set('bundle.json', Buffer.from(f.plain));
      for (const [name, bytes] of f.shards) map.set(name, Buffer.from(bytes));
      if (f.secretsJson) map.set('secrets.json', Buffer.from(f.secretsJson));
      const started = performance.now();
      const result = decodeBundleFiles(map);
      assert.ok(performance.now() - started < 1000, 'decodeBundleFiles took over a second');
      if (!result.ok) assert.ok(result.error.length > 0 && result.error.length < 10_000);
      else checkedWithoutThrowing(result.config, result.secrets);
    }),
    1200,
  );
});
