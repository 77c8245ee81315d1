// How the MTA reads its bundle from mounted files: both layouts, half-updated pairs, and a
// sentence for every way the files can be wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFileName, encodeBundleFiles, secretShardFileName } from '../../../bundle/files.ts';
import { bundleSources, readBundle } from './load-bundle.ts';
import { bundleFiles, minimalBundle, writeMountedFiles, writePlainFiles } from './load-bundle-fixture.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('one plain directory holding bundle.json and secrets.json gives the valid bundle', (t) => {
  const dir = tempDir(t);
  const files = bundleFiles(minimalBundle('r1', ['alice@example.test']));
  writePlainFiles(dir, { ...files.config, ...files.secrets });
  const read = readBundle(bundleSources(dir));
  assert.equal(read.kind, 'valid');
  assert.equal(read.kind === 'valid' && read.revision, 'r1');
  assert.deepEqual(read.kind === 'valid' && read.bundle.mailboxes.map((m) => m.address), ['alice@example.test']);
});

test('separate ConfigMap and Secret volumes with the ..data indirection are read through the symlinks', (t) => {
  const dir = tempDir(t);
  const files = bundleFiles(minimalBundle('r1', ['alice@example.test']));
  writeMountedFiles(join(dir, 'config'), files.config);
  writeMountedFiles(join(dir, 'secret'), files.secrets);
  const first = readBundle(bundleSources(join(dir, 'config'), join(dir, 'secret')));
  assert.equal(first.kind === 'valid' && first.revision, 'r1');

  const next = bundleFiles(minimalBundle('r2', ['bob@example.test']));
  writeMountedFiles(join(dir, 'config'), next.config);
  writeMountedFiles(join(dir, 'secret'), next.secrets);
  const second = readBundle(bundleSources(join(dir, 'config'), join(dir, 'secret')));
  assert.equal(second.kind === 'valid' && second.revision, 'r2');
  assert.notEqual(second.fingerprint, first.fingerprint);
});

test('parts with different revisions are half-updated, not invalid', (t) => {
  const dir = tempDir(t);
  writeMountedFiles(join(dir, 'config'), bundleFiles(minimalBundle('r2', [])).config);
  writeMountedFiles(join(dir, 'secret'), bundleFiles(minimalBundle('r1', [])).secrets);
  const read = readBundle(bundleSources(join(dir, 'config'), join(dir, 'secret')));
  assert.deepEqual(read.kind === 'half-updated' && read.reason, 'the config part has revision r2 and the secret part r1');
});

test("the operator's layout: bundle.json.gz in the ConfigMap, gzipped secret shards in one projected volume", (t) => {
  const dir = tempDir(t);
  const { bundle, secrets } = minimalBundle('r1', ['alice@example.test']);
  const encoded = encodeBundleFiles(bundle, secrets, 3);
  writeMountedFiles(join(dir, 'config'), { [configFileName]: encoded.config });
  const shardFiles = Object.fromEntries(encoded.secretShards.map((b, i) => [secretShardFileName(i, 3), b]));
  writeMountedFiles(join(dir, 'secret'), shardFiles);
  const read = readBundle(bundleSources(join(dir, 'config'), join(dir, 'secret')));
  assert.equal(read.kind === 'valid' && read.revision, 'r1');
});

test('secret shards from two revisions are half-updated too', (t) => {
  const dir = tempDir(t);
  const r1 = minimalBundle('r1', []);
  const r2 = minimalBundle('r2', []);
  const shards1 = encodeBundleFiles(r1.bundle, r1.secrets, 2).secretShards;
  const shards2 = encodeBundleFiles(r2.bundle, r2.secrets, 2).secretShards;
  writeMountedFiles(join(dir, 'config'), { [configFileName]: encodeBundleFiles(r2.bundle, r2.secrets, 2).config });
  writeMountedFiles(join(dir, 'secret'), {
    [secretShardFileName(0, 2)]: shards2[0]!,
    [secretShardFileName(1, 2)]: shards1[1]!,
  });
  assert.equal(readBundle(bundleSources(join(dir, 'config'), join(dir, 'secret'))).kind, 'half-updated');
});

test('the same bytes give the same fingerprint, so a re-check of an unchanged mount is recognised', (t) => {
  const dir = tempDir(t);
  const files = bundleFiles(minimalBundle('r1', []));
  writePlainFiles(dir, { ...files.config, ...files.secrets });
  assert.equal(readBundle(bundleSources(dir)).fingerprint, readBundle(bundleSources(dir)).fingerprint);
});

test('missing files, bad JSON and a schema error are each refused with a sentence naming the place', (t) => {
  const dir = tempDir(t);
  const missing = readBundle(bundleSources(dir));
  assert.equal(missing.kind, 'invalid');
  assert.deepEqual(missing.kind === 'invalid' && missing.errors, [
    `${dir}: no bundle.json.gz or bundle.json`,
    `${dir}: no secrets.json or secrets-<i>-of-<n>.json.gz`,
  ]);
  assert.equal(readBundle(bundleSources(join(dir, 'absent'))).kind, 'invalid');

  const files = bundleFiles(minimalBundle('r1', []));
  writePlainFiles(dir, { 'bundle.json': '{"apiVersion": ', ...files.secrets });
  const badJson = readBundle(bundleSources(dir));
  assert.equal(badJson.kind, 'invalid');
  assert.match(badJson.kind === 'invalid' ? badJson.errors[0]! : '', /unreadable bundle file: .*JSON/);

  const broken = minimalBundle('r1', ['alice@example.test']);
  (broken.bundle.mailboxes[0] as { address: string }).address = 'alice@elsewhere.test';
  const brokenFiles = bundleFiles(broken);
  writePlainFiles(dir, { ...brokenFiles.config, ...brokenFiles.secrets });
  const refused = readBundle(bundleSources(dir));
  assert.deepEqual(refused.kind === 'invalid' && refused.errors, ['mailboxes[alice@elsewhere.test]: domain is not in domains']);
});

test('an unreadable file is refused with its error code, whatever the cause', () => {
  const read = readBundle(bundleSources('/mnt/config'), {
    list: () => ['bundle.json', 'secrets.json', '..data'],
    read: () => {
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    },
  });
  assert.deepEqual(read.kind === 'invalid' && read.errors, [
    '/mnt/config/bundle.json: cannot be read (EACCES)',
    '/mnt/config/secrets.json: cannot be read (EACCES)',
  ]);
});
