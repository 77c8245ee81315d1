// Offline validation of Stafette objects against their CRD, as the API server would
// do it: the OpenAPI schema (with ajv) and then, on the defaulted object, every CEL
// rule of the schema that does not compare with the old object (with cel-js). The
// messages are the CRDs' own, so `stafette render` and `kubectl apply` agree.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { evaluate } from '@marcbachmann/cel-js';
import { applyDefaults, loadSchemas, type SchemaNode } from './crd-schemas.ts';
import type { Kind } from './names.ts';

export interface FieldError {
  /** Path from the object root, such as spec.delivery or spec.aliases[2]. */
  field: string;
  message: string;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
let compiled: { schemas: Record<Kind, SchemaNode>; validators: Record<Kind, ValidateFunction> } | undefined;

function schemasAndValidators() {
  if (!compiled) {
    const schemas = loadSchemas();
    const validators = {} as Record<Kind, ValidateFunction>;
    for (const kind of Object.keys(schemas) as Kind[]) validators[kind] = ajv.compile(closed(schemas[kind]));
    compiled = { schemas, validators };
  }
  return compiled;
}

export function validateObject(kind: Kind, object: unknown): FieldError[] {
  const { schemas, validators } = schemasAndValidators();
  const validate = validators[kind];
  if (!validate(object)) return (validate.errors ?? []).map(describeAjvError);
  return celErrors(schemas[kind], applyDefaults(schemas[kind], object), '');
}

/**
 * A copy of the schema where objects with declared properties allow no others: the API
 * server drops unknown fields (and `kubectl apply` refuses them under strict field
 * validation), so offline a misspelt field must be an error rather than silently ignored.
 */
function closed(schema: SchemaNode): SchemaNode {
  const out: SchemaNode = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, closed(v)]));
    out.additionalProperties = false;
  }
  if (schema.items) out.items = closed(schema.items);
  return out;
}

function jsonPointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replaceAll('~1', '/').replaceAll('~0', '~')}`))
    .join('')
    .replace(/^\./, '');
}

function describeAjvError(e: ErrorObject): FieldError {
  const field = jsonPointerToField(e.instancePath) || '(root)';
  switch (e.keyword) {
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return { field: field === '(root)' ? missing : `${field}.${missing}`, message: 'Required value' };
    }
    case 'enum':
      return { field, message: `Unsupported value: supported values: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'additionalProperties':
      return { field, message: `unknown field ${JSON.stringify(e.params.additionalProperty)}` };
    default:
      return { field, message: e.message ?? e.keyword };
  }
}

/** Evaluates the CEL rules of `schema` at `value` and below. Transition rules (oldSelf) need an update and are skipped. */
function celErrors(schema: SchemaNode, value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  const errors: FieldError[] = [];
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(rule.rule)) continue;
    let ok: unknown;
    try {
      ok = evaluate(rule.rule, { self: value });
    } catch (err) {
      ok = false;
      if (!(err instanceof Error)) throw err;
    }
    if (ok !== true) errors.push({ field: path || '(root)', message: rule.message ?? `failed rule: ${rule.rule}` });
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => errors.push(...celErrors(schema.items as SchemaNode, item, `${path}[${i}]`)));
  } else if (typeof value === 'object' && schema.properties) {
    for (const [name, child] of Object.entries(schema.properties)) {
      errors.push(...celErrors(child, (value as Record<string, unknown>)[name], path ? `${path}.${name}` : name));
    }
  }
  return errors;
}
