// The CRDs as a specification: each is a valid structural schema with a description
// on every field, its generated TypeScript types match it, the examples pass it, and
// bad objects fail it with the CRD's own messages (checked offline here, and against a
// real kube-apiserver in test/kube/).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { parseAllDocuments } from 'yaml';
import { loadCrd, type SchemaNode } from './crd-schemas.ts';
import { staleGeneratedFiles } from './generate-types.ts';
import { kinds, type Kind } from './names.ts';
import { validateObject } from './validate.ts';

/** Every problem that makes a schema non-structural or undocumented, with its path. */
function schemaProblems(node: SchemaNode, path: string): string[] {
  const problems: string[] = [];
  // Every field is described; scalar list items are described by their list.
  const exempt = path === '' || path === '.metadata' || (path.endsWith('[]') && node.type !== 'object');
  if (!node.description && !exempt) problems.push(`${path}: no description`);
  if (node['x-kubernetes-int-or-string']) {
    const types = (node.anyOf ?? []).map((n) => n.type).sort();
    if (node.type || types.join() !== 'integer,string') problems.push(`${path}: int-or-string needs anyOf integer|string and no type`);
  } else if (!node.type) problems.push(`${path}: no type`);
  if (node.type === 'array') {
    if (!node.items) problems.push(`${path}: array without items`);
    if (node.maxItems === undefined) problems.push(`${path}: array without maxItems (CEL cost and etcd size)`);
  }
  if (node.properties && node.additionalProperties !== undefined) problems.push(`${path}: properties and additionalProperties together`);
  for (const key of node.required ?? []) {
    if (!node.properties?.[key]) problems.push(`${path}: required ${key} is not a property`);
  }
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    try {
      parseCel(rule.rule);
    } catch (err) {
      problems.push(`${path}: CEL rule does not parse: ${rule.rule}: ${(err as Error).message}`);
    }
    if (!rule.message) problems.push(`${path}: CEL rule without a message`);
    if (/\.matches\(/.test(rule.rule) && node.type === 'string' && node.maxLength === undefined) {
      problems.push(`${path}: a regex rule on a string without maxLength exceeds the CEL cost budget`);
    }
  }
  for (const [name, child] of Object.entries(node.properties ?? {})) problems.push(...schemaProblems(child, `${path}.${name}`));
  if (node.items) problems.push(...schemaProblems(node.items, `${path}[]`));
  return problems;
}

describe('the CRDs', () => {
  for (const kind of kinds) {
    test(`${kind} is a namespaced stafette.dev/v1alpha1 CRD with a status subresource`, () => {
      const crd = loadCrd(kind) as ReturnType<typeof loadCrd> & {
        spec: { scope: string; versions: { served: boolean; storage: boolean; subresources?: { status?: object } }[] };
      };
      assert.equal(crd.spec.group, 'stafette.dev');
      assert.equal(crd.spec.names.kind, kind);
      assert.equal(crd.metadata.name, `${crd.spec.names.plural}.stafette.dev`);
      assert.equal(crd.spec.scope, 'Namespaced');
      assert.equal(crd.spec.versions.length, 1);
      const [v] = crd.spec.versions;
      assert.equal(v?.name, 'v1alpha1');
      assert.equal(v?.served && v.storage, true);
      assert.deepEqual(v?.subresources?.status, {});
    });

    test(`${kind} has a structural schema with a description on every field`, () => {
      const schema = loadCrd(kind).spec.versions[0]?.schema.openAPIV3Schema as SchemaNode;
      assert.deepEqual(schemaProblems(schema, ''), []);
    });

    test(`${kind} reports conditions as a map keyed by type, and observedGeneration`, () => {
      const status = loadCrd(kind).spec.versions[0]?.schema.openAPIV3Schema.properties?.status;
      const conditions = status?.properties?.conditions;
      assert.equal(conditions?.['x-kubernetes-list-type'], 'map');
      assert.deepEqual(conditions?.['x-kubernetes-list-map-keys'], ['type']);
      assert.deepEqual(conditions?.items?.required, ['type', 'status', 'lastTransitionTime', 'reason', 'message']);
      assert.equal(status?.properties?.observedGeneration?.type, 'integer');
    });
  }

  test('kubectl get maildomains shows domain, Ready, DKIM selector and age', () => {
    const crd = loadCrd('MailDomain') as unknown as { spec: { versions: { additionalPrinterColumns: { name: string; jsonPath: string }[] }[] } };
    assert.deepEqual(
      crd.spec.versions[0]?.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]),
      [
        ['Domain', '.spec.domain'],
        ['Ready', ".status.conditions[?(@.type=='Ready')].status"],
        ['DKIM', '.status.dkim.signingSelectors'],
        ['Age', '.metadata.creationTimestamp'],
      ],
    );
  });

  test('the generated TypeScript types match the CRD YAML (run npm run gen:types after changing a CRD)', () => {
    assert.deepEqual(staleGeneratedFiles(), []);
  });
});

describe('offline validation of objects against the CRDs', () => {
  const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

  for (const file of ['01-maildomain.yaml', '02-mailbox-alice.yaml', '03-mailbox-bob.yaml', '04-relay.yaml']) {
    test(`examples/${file} is valid`, () => {
      for (const doc of parseAllDocuments(readFileSync(`${examplesDir}${file}`, 'utf8'))) {
        const object = doc.toJS() as { kind: string };
        if (kinds.includes(object.kind as Kind)) assert.deepEqual(validateObject(object.kind as Kind, object), []);
      }
    });
  }

  const meta = { name: 'x' };
  const cases: [string, Kind, Record<string, unknown>, string, string][] = [
    ['a domain that is not a DNS name', 'MailDomain', { domain: 'Example_Com' }, 'spec.domain', 'domain must be a lowercase DNS name'],
    ['an unknown DKIM algorithm', 'MailDomain', { domain: 'example.com', dkim: { algorithm: 'rsa-1024' } }, 'spec.dkim.algorithm', 'Unsupported value'],
    [
      'a rotation period that is not a duration',
      'MailDomain',
      { domain: 'example.com', dkim: { rotateAfter: 'soon' } },
      'spec.dkim.rotateAfter',
      'must match pattern',
    ],
    ['tls with neither issuer nor Secret', 'MailDomain', { domain: 'example.com', tls: {} }, 'spec.tls', 'tls needs issuerRef'],
    ['a MailDomain without a domain', 'MailDomain', { hostname: 'mx.example.com' }, 'spec.domain', 'Required value'],
    ['a misspelt field', 'MailDomain', { domain: 'example.com', dkm: {} }, 'spec', 'unknown field "dkm"'],
    ['a mailbox address whose domain is not a DNS name', 'Mailbox', { address: 'alice@localhost' }, 'spec.address', 'address must be local-part@domain'],
    [
      'two delivery targets',
      'Mailbox',
      { address: 'a@example.com', delivery: { maildir: { path: '/m' }, lmtp: { host: 'd' } } },
      'spec.delivery',
      'exactly one of lmtp',
    ],
    [
      'a relative maildir path',
      'Mailbox',
      { address: 'a@example.com', delivery: { maildir: { path: 'mail/a' } } },
      'spec.delivery.maildir.path',
      'must be absolute',
    ],
    [
      'a webhook that is not http',
      'Mailbox',
      { address: 'a@example.com', delivery: { webhook: { url: 'ftp://x', secretRef: { name: 's' } } } },
      'spec.delivery.webhook.url',
      'must match pattern',
    ],
    [
      'a plain-http webhook (webhooks are https only)',
      'Mailbox',
      { address: 'a@example.com', delivery: { webhook: { url: 'http://hooks.example/in', secretRef: { name: 's' } } } },
      'spec.delivery.webhook.url',
      'must match pattern',
    ],
    [
      'a webhook URL without a host',
      'Mailbox',
      { address: 'a@example.com', delivery: { webhook: { url: 'http://', secretRef: { name: 's' } } } },
      'spec.delivery.webhook.url',
      'must match pattern',
    ],
    ['a maxMessageSize of "0"', 'MailDomain', { domain: 'example.com', inbound: { maxMessageSize: '0' } }, 'spec.inbound.maxMessageSize', 'must match pattern'],
    ['a maxMessageSize under 1024 bytes', 'MailDomain', { domain: 'example.com', inbound: { maxMessageSize: 10 } }, 'spec.inbound.maxMessageSize', '1024'],
    [
      'a maxMessageSize over 100Mi',
      'MailDomain',
      { domain: 'example.com', inbound: { maxMessageSize: 104857601 } },
      'spec.inbound.maxMessageSize',
      '104857600',
    ],
    ['tls: none without the opt-in', 'Relay', { host: 'relay.example', default: true, tls: 'none' }, 'spec', 'set insecurePlaintext: true'],
    ['a relay that matches nothing', 'Relay', { host: 'relay.example' }, 'spec', 'needs default true or at least one'],
    [
      'a default relay with matches',
      'Relay',
      { host: 'relay.example', default: true, match: { recipientDomains: ['x.example'] } },
      'spec',
      'remove match or set default false',
    ],
    ['a port out of range', 'Relay', { host: 'relay.example', default: true, port: 70000 }, 'spec.port', 'must be <= 65535'],
  ];
  for (const [what, kind, spec, field, message] of cases) {
    test(`refuses ${what}`, () => {
      const errors = validateObject(kind, { apiVersion: 'stafette.dev/v1alpha1', kind, metadata: meta, spec });
      assert.ok(
        errors.some((e) => e.field === field && e.message.includes(message)),
        JSON.stringify(errors),
      );
    });
  }

  test('tls: none is accepted with insecurePlaintext: true', () => {
    const errors = validateObject('Relay', {
      apiVersion: 'stafette.dev/v1alpha1',
      kind: 'Relay',
      metadata: meta,
      spec: { host: '127.0.0.1', default: true, tls: 'none', insecurePlaintext: true },
    });
    assert.deepEqual(errors, []);
  });
});
