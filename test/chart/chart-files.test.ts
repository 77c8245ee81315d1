// The Helm chart's files: its CRDs are the API's CRDs, every values key is documented, the
// presets in helm/, kind-config.yaml and the Argo CD example agree with it, and it lints.
// Rendered manifests are free-form YAML; the objects stay loosely typed in this file only.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parse, parseAllDocuments, parseDocument, type YAMLMap } from 'yaml';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { chart, find, helm, presets, type K8sObject } from './chart-template.ts';

describe('the Helm chart, offline', () => {
  test("the chart's CRDs are byte for byte the CRDs in crds/", () => {
    const source = readdirSync(join(REPO_ROOT, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const copies = readdirSync(join(chart, 'crds')).sort();
    assert.deepEqual(copies, source, 'charts/stafette/crds/ must hold exactly the files of crds/*.yaml');
    for (const file of source) {
      assert.ok(
        readFileSync(join(chart, 'crds', file)).equals(readFileSync(join(REPO_ROOT, 'crds', file))),
        `charts/stafette/crds/${file} differs from crds/${file}: cp crds/*.yaml charts/stafette/crds/`,
      );
    }
  });

  test('every key of values.yaml has a ## comment', () => {
    const doc = parseDocument(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    const undocumented: string[] = [];
    const walk = (map: YAMLMap, path: string) => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        // The comment above a nested map's first key belongs to the map in the yaml AST.
        const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? map.commentBefore : undefined) ?? '';
        // The last paragraph before the key; `## text` arrives as `# text`.
        const last = comment.split('\n\n').pop() ?? '';
        if (!last.trimStart().startsWith('#')) undocumented.push(`${path}${key}`);
        if (isMap(pair.value)) walk(pair.value, `${path}${key}.`);
      });
    };
    assert.ok(isMap(doc.contents));
    walk(doc.contents, '');
    assert.deepEqual(undocumented, []);
  });

  test('the presets in helm/ only set keys values.yaml has', () => {
    const defaults = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const unknown: string[] = [];
    const walk = (preset: Record<string, unknown>, base: unknown, path: string) => {
      for (const [key, value] of Object.entries(preset)) {
        const known = base !== null && typeof base === 'object' && !Array.isArray(base) ? (base as Record<string, unknown>)[key] : undefined;
        // Free-form maps ({} by default: labels, annotations, selectors) take any key.
        const freeForm = base !== null && typeof base === 'object' && Object.keys(base).length === 0;
        if (known === undefined && !freeForm) unknown.push(`${path}${key}`);
        else if (value && typeof value === 'object' && !Array.isArray(value) && known && typeof known === 'object' && !Array.isArray(known)) {
          walk(value as Record<string, unknown>, known, `${path}${key}.`);
        }
      }
    };
    for (const file of ['kind.yaml', 'production.yaml'])
      walk(parse(readFileSync(join(REPO_ROOT, 'helm', file), 'utf8')) as Record<string, unknown>, defaults, `${file}: `);
    assert.deepEqual(unknown, []);
  });

  test('kind-config.yaml maps host ports 25/587/465 to the node ports of helm/kind.yaml', () => {
    const kind = parse(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8')) as {
      nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[];
    };
    const mappings = kind.nodes.flatMap((n) => n.extraPortMappings ?? []);
    const values = parse(readFileSync(join(REPO_ROOT, 'helm/kind.yaml'), 'utf8')) as { service: { type: string; nodePorts: Record<string, number> } };
    assert.equal(values.service.type, 'NodePort');
    const byHost = Object.fromEntries(mappings.map((m) => [m.hostPort, m.containerPort]));
    assert.deepEqual(byHost, { 25: values.service.nodePorts.mx, 587: values.service.nodePorts.submission, 465: values.service.nodePorts.submissions });
  });

  test('the Argo CD example installs this chart with the production preset, and NATS with helm/nats-values.yaml', () => {
    const apps = parseAllDocuments(readFileSync(join(REPO_ROOT, 'helm/argocd-application.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
    const stafette = find(apps, 'Application', 'stafette');
    assert.equal(stafette.spec.source.path, 'charts/stafette');
    for (const file of stafette.spec.source.helm.valueFiles as string[]) readFileSync(join(REPO_ROOT, stafette.spec.source.path, file));
    const nats = find(apps, 'Application', 'nats');
    assert.deepEqual(nats.spec.sources[0].helm.valueFiles, ['$values/helm/nats-values.yaml']);
  });

  test('helm lint passes, strictly, with the defaults and each preset', async () => {
    for (const [name, args] of Object.entries(presets)) {
      const result = await helm(['lint', '--strict', chart, ...args]);
      assert.equal(result.code, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });
});
