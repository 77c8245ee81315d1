// What the chart's tests (chart-*.test.ts) render with: helm template of charts/stafette, the
// objects of a rendering, the presets in helm/ and a values set with every option on.
// Rendered manifests are free-form YAML of dozens of kinds; the tests' assertions are what
// checks their shape, so the objects stay loosely typed in the chart's tests only.
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';

export const chart = join(REPO_ROOT, 'charts/stafette');
export const exec = promisify(execFile);

export async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(helmBinary(), args, { maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

export async function template(namespace: string, ...args: string[]): Promise<string> {
  const result = await helm(['template', 'stafette', chart, '--namespace', namespace, ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  [key: string]: any;
}

export function objects(rendered: string): K8sObject[] {
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function find(list: K8sObject[], kind: string, name: string): K8sObject {
  const found = list.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} not rendered; have ${list.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export const presets = { default: [], kind: ['-f', join(REPO_ROOT, 'helm/kind.yaml')], production: ['-f', join(REPO_ROOT, 'helm/production.yaml')] } as const;
export const everything = [
  '--set',
  'networkPolicy.enabled=true,monitoring.enabled=true,monitoring.kind=ServiceMonitor,operator.watchAllNamespaces=true,operator.replicas=2,nats.existingSecret=nats-creds,nats.roleUsers.enabled=true,nats.tls.enabled=true,nats.tls.secretName=nats-tls,nats.tls.clientCertificate=true,mtaStsIngress.enabled=true,mtaStsIngress.domains={example.com},mta.extraCaSecret=internal-ca',
  '--api-versions',
  'monitoring.coreos.com/v1/ServiceMonitor',
];
