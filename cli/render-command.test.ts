// `stafette render` on the examples and on broken manifests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBundle } from '../bundle/check.ts';
import { renderCommand } from './render-command.ts';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

function run(manifests: string, out: string) {
  const lines: string[] = [];
  const code = renderCommand(manifests, { out, print: (l) => lines.push(l) });
  return { code, output: lines.join('\n') };
}

test('the first render generates DKIM keys, writes a loadable bundle and prints every DNS record', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'stafette-render-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const { code, output } = run(examples, out);
  assert.equal(code, 0, output);
  assert.match(output, /generated rsa-sha256 DKIM key .*example\.com\/s2026\.pem/);
  for (const record of ['IN MX   10 mx.example.com.', '"v=spf1 mx ~all"', 's2026._domainkey.example.com.', '_dmarc.example.com.', '_smtp._tls.example.com.']) {
    assert.ok(output.includes(record), `missing ${record} in\n${output}`);
  }
  // The example domain has no certificate, so no MTA-STS policy can be served: none is published.
  assert.ok(!output.includes('_mta-sts.example.com.'), output);
  assert.match(
    output,
    /Warning: MailDomain default\/example-com spec\.dns\.mtaSts: the MTA-STS policy is not published: no certificate for mta-sts\.example\.com/,
  );
  const bundle: unknown = JSON.parse(readFileSync(join(out, 'bundle/bundle.json'), 'utf8'));
  const secrets = JSON.parse(readFileSync(join(out, 'bundle/secrets.json'), 'utf8')) as { passwords: Record<string, string> };
  assert.equal(checkBundle(bundle, secrets).ok, true);
  assert.match(secrets.passwords['alice@example.com']!, /^\$scrypt\$/);
  assert.equal(statSync(join(out, 'bundle/secrets.json')).mode & 0o777, 0o600);
  assert.equal(statSync(join(out, 'dkim/example.com/s2026.pem')).mode & 0o777, 0o600);
});

test('behind an Ingress that serves the policies, the MTA-STS records are printed and the policy written', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'stafette-render-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const lines: string[] = [];
  assert.equal(renderCommand(examples, { out, print: (l) => lines.push(l), mtaStsServedBy: 'ingress' }), 0);
  const output = lines.join('\n');
  assert.ok(output.includes('_mta-sts.example.com.'), output);
  assert.match(output, /mta-sts\.example\.com\.\s+IN CNAME\s+mx\.example\.com\./);
  assert.match(readFileSync(join(out, 'dns/example.com.mta-sts.txt'), 'utf8'), /^version: STSv1\nmode: testing\nmx: mx.example.com\n/);
});

test('a second render keeps the keys and password hashes, so the bundle revision is unchanged', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'stafette-render-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  run(examples, out);
  const key = readFileSync(join(out, 'dkim/example.com/s2026.pem'), 'utf8');
  const first = readFileSync(join(out, 'bundle/bundle.json'), 'utf8');
  const again = run(examples, out);
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.output, /generated/);
  assert.equal(readFileSync(join(out, 'dkim/example.com/s2026.pem'), 'utf8'), key);
  assert.equal(readFileSync(join(out, 'bundle/bundle.json'), 'utf8'), first);
});

test('invalid manifests and conflicting resources are printed by resource and field, and the exit code is 1', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-manifests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'nested'));
  copyFileSync(join(examples, '01-maildomain.yaml'), join(dir, '01-maildomain.yaml'));
  copyFileSync(join(examples, '02-mailbox-alice.yaml'), join(dir, 'nested/02-mailbox-alice.yaml'));
  writeFileSync(
    join(dir, 'bad.yaml'),
    [
      'apiVersion: stafette.dev/v1alpha1',
      'kind: Relay',
      'metadata: {name: plain}',
      'spec: {host: relay.example, default: true, tls: none}',
      '---',
      'apiVersion: stafette.dev/v1alpha1',
      'kind: Mailbox',
      'metadata: {name: alice-again}',
      'spec: {address: alice@example.com}',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: unrelated}',
    ].join('\n'),
  );
  const { code, output } = run(dir, join(dir, 'out'));
  assert.equal(code, 1);
  assert.match(output, /error: \S*\/bad\.yaml: Relay plain: spec: tls: none sends mail and credentials unencrypted; set insecurePlaintext: true to allow it/);
  assert.match(
    output,
    /Error: Mailbox default\/alice-again spec\.address: alice@example\.com is already claimed by Mailbox default\/alice \(AddressConflict\)/,
  );
  assert.match(output, /Error: MailDomain default\/example-com spec\.inbound\.aliases\[2\]\.to: alias team@example\.com points to bob@example\.com/);
});
