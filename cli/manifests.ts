// Reads a directory of Kubernetes manifests (YAML or JSON, several documents per file,
// subdirectories included) the way `kubectl apply -R -f` would, and sorts out the
// objects render() needs: Stafette resources, validated against their CRDs, and Secrets.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { apiVersion, kinds, type Kind, type MailDomain, type Mailbox, type Relay } from '../crds/src/index.ts';
import { validateObject } from '../crds/src/validate.ts';
import type { SecretObject } from '../operator/src/render/input.ts';

export interface ManifestProblem {
  /** file, or file plus the object it is about */
  where: string;
  message: string;
}

export interface Manifests {
  domains: MailDomain[];
  mailboxes: Mailbox[];
  relays: Relay[];
  secrets: SecretObject[];
  problems: ManifestProblem[];
  /** Objects of other kinds, which render ignores. */
  ignored: string[];
}

function manifestFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) return manifestFiles(full);
      return /\.(ya?ml|json)$/.test(entry) ? [full] : [];
    });
}

export function readManifests(path: string): Manifests {
  const out: Manifests = { domains: [], mailboxes: [], relays: [], secrets: [], problems: [], ignored: [] };
  for (const file of manifestFiles(path)) {
    const name = file;
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) {
        out.problems.push({ where: name, message: doc.errors.map((e) => e.message).join('; ') });
        continue;
      }
      const object = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      if (object === null || object === undefined) continue;
      const label = `${name}: ${object.kind ?? '(no kind)'} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '(no name)'}`;
      if (!object.metadata?.name) {
        out.problems.push({ where: label, message: 'metadata.name is required' });
        continue;
      }
      if (object.apiVersion === 'v1' && object.kind === 'Secret') {
        out.secrets.push(object as SecretObject);
        continue;
      }
      if (object.apiVersion !== apiVersion || !kinds.includes(object.kind as Kind)) {
        if (object.apiVersion?.startsWith('stafette.dev/')) {
          out.problems.push({ where: label, message: `unknown kind or version; expected ${apiVersion} ${kinds.join(', ')}` });
        } else out.ignored.push(label);
        continue;
      }
      const errors = validateObject(object.kind as Kind, object);
      if (errors.length > 0) {
        for (const e of errors) out.problems.push({ where: label, message: `${e.field}: ${e.message}` });
        continue;
      }
      if (object.kind === 'MailDomain') out.domains.push(object as MailDomain);
      else if (object.kind === 'Mailbox') out.mailboxes.push(object as Mailbox);
      else out.relays.push(object as Relay);
    }
  }
  return out;
}
