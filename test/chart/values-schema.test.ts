// The chart's values.schema.json, with the real helm: it describes exactly the keys of
// values.yaml, every preset passes it, and a typo, a wrong type or an unknown listener fails
// `helm template` and `helm lint` with a message that names the key (test/chart/install.test.ts
// shows the same for `helm install` against an API server).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';

const chart = join(REPO_ROOT, 'charts/stafette');
const exec = promisify(execFile);

async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(helmBinary(), args, { maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  $ref?: string;
}

const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as Schema & { definitions: Record<string, Schema> };
const resolve = (s: Schema): Schema => (s.$ref ? (schema.definitions[s.$ref.replace('#/definitions/', '')] ?? {}) : s);

describe('values.schema.json', () => {
  test('describes exactly the keys of values.yaml: every key has an entry, every entry a key', () => {
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    const extra: string[] = [];
    const walk = (value: Record<string, unknown>, node: Schema, path: string) => {
      const s = resolve(node);
      // Free-form maps and Kubernetes objects passed through take any key.
      if (!s.properties) return;
      for (const [key, child] of Object.entries(value)) {
        const entry = s.properties[key];
        if (!entry) missing.push(`${path}${key}`);
        else if (child && typeof child === 'object' && !Array.isArray(child)) walk(child as Record<string, unknown>, entry, `${path}${key}.`);
      }
      for (const key of Object.keys(s.properties)) if (!(key in value) && !(path === '' && key === 'global')) extra.push(`${path}${key}`);
      assert.equal(s.additionalProperties, false, `${path || 'the top level'} must refuse unknown keys`);
    };
    walk(values, schema, '');
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
  });

  test('the defaults and every preset in helm/ pass it', async () => {
    for (const args of [[], ['-f', join(REPO_ROOT, 'helm/kind.yaml')], ['-f', join(REPO_ROOT, 'helm/production.yaml')]]) {
      const result = await helm(['lint', '--strict', chart, ...args]);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    }
  });

  const refusals: [string, string[], RegExp][] = [
    ['a misspelt key', ['--set', 'mta.replica=3'], /at '\/mta': additional properties 'replica' not allowed/],
    ['a misspelt top-level key', ['--set', 'operater.replicas=2'], /additional properties 'operater' not allowed/],
    ['a string for a number', ['--set', 'mta.replicas=three'], /at '\/mta\/replicas': got string, want integer/],
    ['a number for a boolean', ['--set-json', 'networkPolicy.enabled=1'], /at '\/networkPolicy\/enabled': got number, want boolean/],
    ['an unknown listener', ['--set', 'mta.listeners={mx,smtp}'], /at '\/mta\/listeners\/1': value must be one of 'mx', 'submission', 'submissions'/],
    ['a privileged container port', ['--set', 'mta.containerPorts.mx=25'], /at '\/mta\/containerPorts\/mx': minimum: got 25, want 1,?024/],
    ['an unknown monitor kind', ['--set', 'monitoring.kind=Probe'], /at '\/monitoring\/kind': value must be one of 'PodMonitor', 'ServiceMonitor'/],
    ['a number in a label map', ['--set-json', 'commonLabels={"team":1}'], /at '\/commonLabels\/team': got number, want string/],
  ];
  for (const [what, args, message] of refusals) {
    test(`${what} fails helm template and helm lint, naming the key`, async () => {
      for (const command of [
        ['template', 'stafette', chart],
        ['lint', chart],
      ]) {
        const result = await helm([...command, ...args]);
        assert.notEqual(result.code, 0, `${command[0]} accepted ${args.join(' ')}`);
        assert.match(`${result.stdout}${result.stderr}`, message);
      }
    });
  }

  test('an unknown listener fails the render even with --skip-schema-validation, instead of a NetworkPolicy rule without a port', async () => {
    const result = await helm(['template', 'stafette', chart, '--skip-schema-validation', '--set', 'networkPolicy.enabled=true,mta.listeners={mx,smtp}']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /mta\.listeners: "smtp" is not a listener; the MTA has mx, submission, submissions/);
    // And a valid subset renders a port for each listener it names (and the MTA-STS policy
    // listener, on by default with mta.serveMtaSts).
    const ok = await helm(['template', 'stafette', chart, '--set', 'networkPolicy.enabled=true,mta.listeners={submission}']);
    assert.equal(ok.code, 0, ok.stderr);
    const policy = parseAllDocuments(ok.stdout)
      .map((d) => d.toJS() as { kind?: string; metadata?: { name: string }; spec?: { ingress: { ports: { port?: number }[] }[] } })
      .find((o) => o?.kind === 'NetworkPolicy' && o.metadata?.name === 'stafette-mta');
    assert.deepEqual(
      policy?.spec?.ingress[0]?.ports.map((p) => p.port),
      [2587, 8443],
    );
  });
});
