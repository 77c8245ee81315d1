// The golden bundle of examples/: what the quick start's resources render to, with
// fixed stand-in keys and password hashes. Regenerate with UPDATE_GOLDEN=1 after an
// intended change, and read the diff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readManifests } from '../../../cli/manifests.ts';
import { render } from './render.ts';
import { input, key } from './test-resources.ts';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const goldenPath = fileURLToPath(new URL('./testdata/examples.golden.json', import.meta.url));

test('examples/ render to the golden bundle; the one finding: the MTA-STS policy needs a certificate', () => {
  const manifests = readManifests(examples);
  assert.deepEqual(manifests.problems, []);
  const result = render(input({ ...manifests, dkimKeys: [key('example.com', 's2026')] }));
  // The quick start has no certificate (no cert-manager on a laptop), so its MTA-STS policy
  // cannot be served and is not published; the domain says so instead of publishing an id
  // whose policy no sender could fetch.
  assert.deepEqual(
    result.issues.map((i) => `${i.severity} ${i.reason} ${i.field}`),
    ['Warning MtaStsNotServed spec.dns.mtaSts'],
  );
  const actual = `${JSON.stringify({ bundle: result.bundle, secrets: result.secrets, domains: result.domains }, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, actual);
  assert.equal(actual, readFileSync(goldenPath, 'utf8'));
});
