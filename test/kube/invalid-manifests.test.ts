// The CRDs' validation, proven on a real kube-apiserver: every manifest in invalid/ is
// refused with the message the CRD defines (OpenAPI schema and CEL rules alike), and
// nothing is stored.
//
// Fixture format: `# proves:` names the behaviour, each `# expect:` line must appear in
// the API server's answer. Every YAML document but the last is applied first and must
// be accepted (the "before" of an update); the last one must be refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'invalid');

interface Fixture {
  file: string;
  proves: string;
  expect: string[];
  /** Applied in order and accepted, then `rejected` is applied and refused. */
  setup: string[];
  rejected: string;
  kind: string;
  name: string;
}

function loadFixture(file: string): Fixture {
  const text = readFileSync(join(dir, file), 'utf8');
  const proves = /^# proves: (.+)$/m.exec(text)?.[1];
  const expect = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
  const docs = parseAllDocuments(text).map((d) => d.toString());
  const last = parseAllDocuments(text).at(-1)?.toJS() as { kind?: string; metadata?: { name?: string } } | undefined;
  if (!proves || expect.length === 0 || !last?.kind || !last.metadata?.name) {
    throw new Error(`${file}: needs "# proves:", at least one "# expect:" and a named object`);
  }
  return { file, proves, expect, setup: docs.slice(0, -1), rejected: docs.at(-1)!, kind: last.kind, name: last.metadata.name };
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map(loadFixture);

describe('invalid manifests are refused by the CRDs', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('the fixture set covers all three kinds with at least ten cases', () => {
    assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures`);
    assert.deepEqual([...new Set(fixtures.map((f) => f.kind))].sort(), ['MailDomain', 'Mailbox', 'Relay']);
  });

  for (const fixture of fixtures) {
    test(`${fixture.proves} [${fixture.file}]`, async () => {
      // A namespace per fixture: names repeat across fixtures, and no controller would
      // ever finish deleting a namespace here, so nothing is cleaned up either.
      const ns = `inv-${basename(fixture.file, '.yaml')}`.slice(0, 63).replace(/-+$/, '');
      await kube.ok(['create', 'namespace', ns]);
      const apply = (manifest: string) => kube.run(['apply', '--server-side', '--field-manager=stafette-test', '-n', ns, '-f', '-'], { input: manifest });
      for (const manifest of fixture.setup) {
        const setup = await apply(manifest);
        assert.equal(setup.code, 0, `setup document was refused: ${setup.stderr}`);
      }
      const ref = [fixture.kind.toLowerCase() + '.stafette.dev', fixture.name, '-n', ns];
      const versionBefore = fixture.setup.length > 0 ? await kube.ok(['get', ...ref, '-o', 'jsonpath={.metadata.resourceVersion}']) : undefined;

      const result = await apply(fixture.rejected);

      assert.notEqual(result.code, 0, `the API server accepted it:\n${result.stdout}`);
      for (const message of fixture.expect) {
        assert.ok(result.stderr.includes(message), `expected "${message}" in:\n${result.stderr}`);
      }
      const after = await kube.run(['get', ...ref, '-o', 'jsonpath={.metadata.resourceVersion}']);
      if (versionBefore === undefined) {
        assert.match(after.stderr, /NotFound/, 'a refused create must not store the object');
      } else {
        assert.equal(after.stdout, versionBefore, 'a refused update must leave the object unchanged');
      }
    });
  }
});
