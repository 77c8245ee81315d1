import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { encodeVersions, parseVersions, passwordIndexObject } from './password-index.ts';

const target = { namespace: 'mail', name: 'stafette-bundle', shards: 2 };

test('version records survive the round trip through the index Secret', () => {
  const versions = new Map([
    ['bob@example.com', 'AAAAAAAAAAAAAAAA'],
    ['alice@example.com', 'BBBBBBBBBBBBBBBB'],
  ]);
  const secret = passwordIndexObject(target, Buffer.alloc(32, 1), versions);
  assert.deepEqual(Object.keys(secret.data).sort(), ['hash-versions', 'key']);
  assert.deepEqual(parseVersions(secret.data['hash-versions']), versions);
  assert.equal(encodeVersions(versions), encodeVersions(new Map([...versions].reverse())));
});

test('10,000 records fit far below the 1 MiB of a Secret', () => {
  const versions = new Map<string, string>();
  for (let i = 0; i < 10_000; i += 1) versions.set(`user${i}@domain${i % 1000}.example`, randomBytes(12).toString('base64'));
  const bytes = JSON.stringify(passwordIndexObject(target, randomBytes(32), versions)).length;
  assert.ok(bytes < 400 * 1024, `${bytes} bytes`);
});

test('records that do not parse are refused (the index is rewritten)', () => {
  for (const bad of ['not base64 gzip', Buffer.from('{"a":"b"}').toString('base64'), encodeVersionsOf('[1]'), encodeVersionsOf('{"a":1}')]) {
    assert.equal(parseVersions(bad), null, bad);
  }
});

function encodeVersionsOf(json: string): string {
  return gzipSync(json).toString('base64');
}
