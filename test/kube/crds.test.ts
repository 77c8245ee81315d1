// The CRDs on a real kube-apiserver: they install and become Established, every
// manifest in examples/ is accepted with server-side apply, defaults are filled in,
// the valid neighbours of the invalid fixtures pass, and `kubectl get` shows the
// printer columns the CRDs declare.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';

const examplesDir = join(REPO_ROOT, 'examples');
const examples = existsSync(examplesDir)
  ? readdirSync(examplesDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
  : [];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

let kube: KubeApiServer;
let seq = 0;
/** A fresh namespace: no controller runs to delete one, so tests never share. */
async function namespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${++seq}`;
  await kube.ok(['create', 'namespace', ns]);
  return ns;
}
const apply = (ns: string, manifest: string) => kube.ok(['apply', '--server-side', '--field-manager=stafette-test', '-n', ns, '-f', '-'], { input: manifest });

describe('the CRDs on a real API server', () => {
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('every CRD in crds/ is installed and Established', async () => {
    assert.deepEqual([...kube.crds].sort(), ['mailboxes.stafette.dev', 'maildomains.stafette.dev', 'relays.stafette.dev']);
    for (const crd of kube.crds) {
      const established = await kube.ok(['get', 'crd', crd, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      assert.equal(established, 'True', crd);
    }
  });

  test('examples/ is not empty', () => {
    assert.ok(examples.length > 0, 'no manifests in examples/');
  });

  for (const file of examples) {
    test(`examples/${file} is accepted with server-side apply`, async () => {
      const text = readFileSync(join(examplesDir, file), 'utf8');
      const objects = parseAllDocuments(text)
        .map((d) => d.toJS() as Manifest | null)
        .filter((o): o is Manifest => !!o?.kind);
      // Examples that name their namespace are applied as written; the others go to a fresh one.
      const named = [...new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => !!n))];
      for (const n of named) await kube.run(['create', 'namespace', n]); // may exist from another example
      const ns = named.length === 0 ? await namespace('example') : undefined;
      await kube.ok(['apply', '--server-side', '--field-manager=stafette-test', ...(ns ? ['-n', ns] : []), '-f', '-'], { input: text });
      // Stored, and the examples carry no field the schema would have pruned.
      // Objects without a spec (the examples' Secrets) are not read back: no secret data in test output.
      for (const object of objects.filter((o) => o.spec !== undefined)) {
        const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
        const resource = group ? `${object.kind.toLowerCase()}.${group}` : object.kind.toLowerCase();
        const where = object.metadata.namespace ?? ns ?? 'default';
        const stored = JSON.parse(await kube.ok(['get', resource, object.metadata.name, '-n', where, '-o', 'json'])) as { spec?: unknown };
        assertContains(stored.spec, object.spec, `${file} ${object.kind}/${object.metadata.name} spec`);
      }
    });
  }

  test('a minimal MailDomain gets the documented defaults', async () => {
    const ns = await namespace('defaults');
    await apply(ns, 'apiVersion: stafette.dev/v1alpha1\nkind: MailDomain\nmetadata: {name: minimal}\nspec: {domain: example.com}\n');
    const spec = JSON.parse(await kube.ok(['get', 'maildomain.stafette.dev', 'minimal', '-n', ns, '-o', 'jsonpath={.spec}'])) as {
      dkim: { selector: string; algorithm: string };
      inbound: { maxMessageSize: string; dmarc: string };
      dns: { publish: string };
    };
    assert.equal(spec.dkim.selector, 'stafette');
    assert.equal(spec.dkim.algorithm, 'rsa-2048');
    assert.equal(spec.inbound.maxMessageSize, '25Mi');
    assert.equal(spec.inbound.dmarc, 'report');
    assert.equal(spec.dns.publish, 'none');
  });

  test('a MailDomain may change its hostname; only the domain is immutable', async () => {
    const ns = await namespace('mutable');
    const md = (hostname: string) =>
      `apiVersion: stafette.dev/v1alpha1\nkind: MailDomain\nmetadata: {name: d}\nspec: {domain: example.com, hostname: ${hostname}}\n`;
    await apply(ns, md('mx1.example.com'));
    await apply(ns, md('mx2.example.com'));
    assert.equal(await kube.ok(['get', 'maildomain.stafette.dev', 'd', '-n', ns, '-o', 'jsonpath={.spec.hostname}']), 'mx2.example.com');
  });

  test('a plain-text Relay is accepted once insecurePlaintext: true opts in', async () => {
    const ns = await namespace('optin');
    await apply(
      ns,
      'apiVersion: stafette.dev/v1alpha1\nkind: Relay\nmetadata: {name: lab}\n' +
        'spec: {host: smtp.lab.internal, port: 25, tls: none, insecurePlaintext: true, default: true}\n',
    );
  });

  test('kubectl get maildomains shows the printer columns the CRD declares, status included', async () => {
    const ns = await namespace('columns');
    await apply(ns, 'apiVersion: stafette.dev/v1alpha1\nkind: MailDomain\nmetadata: {name: shop}\nspec: {domain: shop.example.com}\n');
    // Status goes through the status subresource, as the operator will write it.
    const status = {
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        dkim: { signingSelectors: 'stafette' },
      },
    };
    await kube.ok(['patch', 'maildomain.stafette.dev', 'shop', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);

    const table = (await kube.ok(['get', 'maildomains', '-n', ns]))
      .trimEnd()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    const crd = parse(readFileSync(join(REPO_ROOT, 'crds/maildomains.yaml'), 'utf8')) as { spec: { versions: { additionalPrinterColumns: unknown }[] } };
    const declared = (crd.spec.versions[0]!.additionalPrinterColumns as { name: string; priority?: number }[])
      .filter((c) => !c.priority)
      .map((c) => c.name.toUpperCase());
    assert.deepEqual(table[0], ['NAME', ...declared]);
    const row = Object.fromEntries(table[0].map((h, i) => [h, table[1]![i]]));
    assert.equal(row.NAME, 'shop');
    assert.equal(row.DOMAIN, 'shop.example.com');
    assert.equal(row.READY, 'True');
    assert.equal(row.DKIM, 'stafette');
  });
});

/** Every field of `expected` is present with the same value in `actual` (defaults may add more). */
function assertContains(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} is missing`);
    for (const [k, v] of Object.entries(expected)) assertContains((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${path} differs`);
    expected.forEach((v, i) => assertContains((actual as unknown[])[i], v, `${path}[${i}]`));
  } else {
    assert.equal(actual, expected, path);
  }
}
