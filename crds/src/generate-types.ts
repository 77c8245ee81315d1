// Generates crds/src/generated/<kind>.ts from the CRD YAML, so the TypeScript types of
// spec and status can never drift from the API: `npm run gen:types` rewrites the file
// and crds.test.ts fails when a committed file differs from what this produces.
//
// Two views of each spec are generated: `XSpec` is what a user may write (fields with
// a schema default are optional) and `XSpecResolved` is what the API server stores
// after defaulting (those fields are present), which is what render() works on.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSchemas, type SchemaNode } from './crd-schemas.ts';
import { apiVersion, kinds, type Kind } from './names.ts';

export const generatedDirectory = fileURLToPath(new URL('./generated/', import.meta.url));

type View = 'input' | 'resolved';

function comment(description: string | undefined, indent: string): string {
  if (!description) return '';
  const text = description.replace(/\s+/g, ' ').trim().replaceAll('*/', '*\\/');
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + word.length + 1 > 96) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`;
}

function typeOf(node: SchemaNode, view: View, indent: string): string {
  if (node['x-kubernetes-int-or-string']) return 'number | string';
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  switch (node.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const item = node.items ? typeOf(node.items, view, indent) : 'unknown';
      return item.includes('|') || item.includes('\n') ? `Array<${item}>` : `${item}[]`;
    }
    case 'object':
      return node.properties ? objectType(node, view, indent) : 'Record<string, unknown>';
    default:
      throw new Error(`schema node without a type: ${JSON.stringify(node).slice(0, 120)}`);
  }
}

function objectType(node: SchemaNode, view: View, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set(node.required ?? []);
  let out = '{\n';
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const present = required.has(name) || (view === 'resolved' && child.default !== undefined);
    out += comment(child.description, inner);
    out += `${inner}${name}${present ? '' : '?'}: ${typeOf(child, view, inner)};\n`;
  }
  return `${out}${indent}}`;
}

/** The generated module of each kind, as file name and text. */
export function renderTypes(): { file: string; text: string }[] {
  const schemas = loadSchemas();
  return kinds.map((kind) => ({ file: `${kind.toLowerCase()}.ts`, text: renderKind(kind, schemas[kind]) }));
}

function renderKind(kind: Kind, root: SchemaNode): string {
  const spec = root.properties?.spec;
  const status = root.properties?.status;
  if (!spec || !status) throw new Error(`${kind} schema needs spec and status`);
  let out = `// Generated from crds/*.yaml by \`npm run gen:types\`. Do not edit by hand:\n`;
  out += `// change the CRD YAML and regenerate; crds.test.ts fails when this file drifts.\n\n`;
  out += `import type { ObjectMeta } from '../names.ts';\n`;
  out += `\n${comment(spec.description, '')}export type ${kind}Spec = ${typeOf(spec, 'input', '')};\n`;
  out += `\n/** ${kind}Spec after the API server's defaulting: every field with a default is present. */\n`;
  out += `export type ${kind}SpecResolved = ${typeOf(spec, 'resolved', '')};\n`;
  out += `\n${comment(status.description, '')}export type ${kind}Status = ${typeOf(status, 'input', '')};\n`;
  out += `\n${comment(root.description, '')}export interface ${kind} {\n`;
  out += `  apiVersion: '${apiVersion}';\n  kind: '${kind}';\n  metadata: ObjectMeta;\n`;
  out += `  spec: ${kind}Spec;\n  status?: ${kind}Status;\n}\n`;
  return out;
}

/** The generated files that differ from what the CRD YAML produces now. */
export function staleGeneratedFiles(): string[] {
  return renderTypes()
    .filter(({ file, text }) => {
      try {
        return readFileSync(`${generatedDirectory}${file}`, 'utf8') !== text;
      } catch {
        return true;
      }
    })
    .map(({ file }) => file);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    mkdirSync(generatedDirectory, { recursive: true });
    for (const { file, text } of renderTypes()) writeFileSync(`${generatedDirectory}${file}`, text);
    console.log(`wrote ${generatedDirectory}`);
  } else {
    const stale = staleGeneratedFiles();
    if (stale.length > 0) {
      console.error(`out of date: ${stale.join(', ')}; run npm run gen:types`);
      process.exit(1);
    }
  }
}
