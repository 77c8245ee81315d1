// The CRD YAML files are the source of truth of the API. This module loads their
// OpenAPI schemas so the same schema drives the generated types, offline validation
// of manifests and the defaults that `stafette render` applies as the API server would.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { crdFiles, kinds, type Kind } from './names.ts';

/** An OpenAPI v3 schema node as CRDs use it (structural schemas). */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  default?: unknown;
  anyOf?: SchemaNode[];
  format?: string;
  pattern?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  [key: string]: unknown;
}

export interface CrdDocument {
  apiVersion: string;
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[];
  };
}

export const crdDirectory = fileURLToPath(new URL('..', import.meta.url));

export function loadCrd(kind: Kind): CrdDocument {
  const path = fileURLToPath(new URL(`../${crdFiles[kind].file}`, import.meta.url));
  return parse(readFileSync(path, 'utf8')) as CrdDocument;
}

/** The v1alpha1 schema of each kind, read once. */
export function loadSchemas(): Record<Kind, SchemaNode> {
  const out = {} as Record<Kind, SchemaNode>;
  for (const kind of kinds) {
    const crd = loadCrd(kind);
    const served = crd.spec.versions[0];
    if (!served) throw new Error(`${crdFiles[kind].file} has no version`);
    out[kind] = served.schema.openAPIV3Schema;
  }
  return out;
}

let cached: Record<Kind, SchemaNode> | undefined;

/** The spec schema of a kind, read from its CRD once per process. */
export function specSchemaOf(kind: Kind): SchemaNode {
  cached ??= loadSchemas();
  const spec = cached[kind].properties?.spec;
  if (!spec) throw new Error(`${crdFiles[kind].file} has no spec schema`);
  return spec;
}

/**
 * Fills in schema defaults the way the API server's structural defaulting does:
 * a missing property with a default gets a copy of it, and defaulting recurses
 * into objects and array items that are present (including ones just defaulted).
 */
export function applyDefaults<T>(schema: SchemaNode, value: T): T {
  if (Array.isArray(value)) {
    if (!schema.items) return value;
    return (value as unknown[]).map((item) => applyDefaults(schema.items as SchemaNode, item)) as T;
  }
  if (value === null || typeof value !== 'object' || !schema.properties) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, child] of Object.entries(schema.properties)) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
  }
  return out as T;
}
