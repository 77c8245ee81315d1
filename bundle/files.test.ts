import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { bundleApiVersion, type Bundle, type BundleSecrets } from './schema.ts';
import { configFileName, decodeBundleFiles, encodeBundleFiles, secretShardFileName } from './files.ts';

const bundle: Bundle = { apiVersion: bundleApiVersion, revision: 'r1', domains: [], mailboxes: [], aliases: [], relays: [] };
function secrets(count: number): BundleSecrets {
  const passwords: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) passwords[`user${i}@example.com`] = `$scrypt$ln=15,r=8,p=1$${i}`;
  return {
    apiVersion: bundleApiVersion,
    revision: 'r1',
    dkimKeys: [{ domain: 'example.com', selector: 's', algorithm: 'rsa-sha256', privateKeyPem: 'PEM' }],
    passwords,
    relayCredentials: { 'mail/r': { username: 'u', password: 'p' } },
    webhookKeys: {},
    tlsCertificates: {},
  };
}

function files(encoded: ReturnType<typeof encodeBundleFiles>): Map<string, Buffer> {
  const map = new Map<string, Buffer>([[configFileName, encoded.config]]);
  encoded.secretShards.forEach((b, i) => map.set(secretShardFileName(i, encoded.secretShards.length), b));
  return map;
}

test('sharded, compressed files decode to the same bundle and secrets', () => {
  const original = secrets(500);
  const decoded = decodeBundleFiles(files(encodeBundleFiles(bundle, original, 4)));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.config, bundle);
  assert.deepEqual(decoded.secrets, original);
});

test('entries spread over the shards, and the same content encodes to the same bytes', () => {
  const a = encodeBundleFiles(bundle, secrets(400), 4);
  assert.ok(a.secretShards.every((s) => s.length > 100));
  assert.deepEqual(encodeBundleFiles(bundle, secrets(400), 4), a);
});

test('a missing shard or shards of different revisions are refused as a half-updated mount', () => {
  const map = files(encodeBundleFiles(bundle, secrets(10), 3));
  map.delete(secretShardFileName(1, 3));
  assert.deepEqual(decodeBundleFiles(map), { ok: false, error: `secret shards incomplete: missing ${secretShardFileName(1, 3)}, found 2 of 3` });

  const mixed = files(encodeBundleFiles(bundle, secrets(10), 2));
  mixed.set(secretShardFileName(1, 2), encodeBundleFiles(bundle, { ...secrets(10), revision: 'r2' }, 2).secretShards[1] as Buffer);
  const result = decodeBundleFiles(mixed);
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.error, /different revisions/);
});

test('the plain files stafette render writes are read as they are', () => {
  const map = new Map([
    ['bundle.json', Buffer.from(JSON.stringify(bundle))],
    ['secrets.json', Buffer.from(JSON.stringify(secrets(1)))],
  ]);
  const decoded = decodeBundleFiles(map);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.secrets, secrets(1));
});

// Found by fuzz/bundle.fuzz.ts (docs/fuzzing.md): the shard count of a file name sized an array,
// so one file named "-of-100000000" allocated 10^8 names and ran the process out of memory.
test('a shard name with a huge shard count is refused at once, without a list of that size', () => {
  for (const total of ['100000000', '4294967296', '99999999999999999999']) {
    const map = new Map<string, Buffer>([
      [configFileName, gzipSync('{}')],
      [`secrets-0-of-${total}.json.gz`, Buffer.from('')],
    ]);
    const started = performance.now();
    const result = decodeBundleFiles(map);
    assert.ok(performance.now() - started < 100);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.error, /^secret shards incomplete: found 1 of \d/);
  }
});
