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

test('examples/ render to the golden bundle, with no problems', () => {
  const manifests = readManifests(examples);
  assert.deepEqual(manifests.problems, []);
  const result = render(input({ ...manifests, dkimKeys: [key('example.com', 's2026')] }));
  assert.deepEqual(result.issues, []);
  const actual = `${JSON.stringify({ bundle: result.bundle, secrets: result.secrets, domains: result.domains }, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath, actual);
  assert.equal(actual, readFileSync(goldenPath, 'utf8'));
});
