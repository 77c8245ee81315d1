// The chart's trust values reach the operator as flags the CLI parses back into the same policy
// (docs/trust-model.md §6): the release namespace claims any domain by default, allow-list entries
// and allowed issuers become --domain-allow and --allowed-issuer, and the DNS challenge can be
// turned off. Rendered with the real helm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseDomainAllow, parseIssuerRule } from '../../operator/src/render/ownership.ts';
import { helmBinary, REPO_ROOT } from '../harness/kube-assets.ts';

async function operatorArgs(...set: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(helmBinary(), [
    'template',
    'stafette',
    join(REPO_ROOT, 'charts/stafette'),
    '--namespace',
    'mail',
    '--show-only',
    'templates/operator-deployment.yaml',
    ...set,
  ]);
  const deployment = parseAllDocuments(stdout)[0]?.toJS() as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  return deployment.spec.template.spec.containers[0]?.args ?? [];
}

const values = (args: string[], flag: string) => args.filter((a) => a.startsWith(`--${flag}=`)).map((a) => a.slice(flag.length + 3));

test("defaults: the release namespace claims any domain, challenges on, only a tenant's own Issuers allowed", async () => {
  const args = await operatorArgs();
  assert.deepEqual(parseDomainAllow(values(args, 'domain-allow')), { mail: ['*'] });
  assert.ok(!args.includes('--no-domain-challenge'));
  assert.deepEqual(values(args, 'allowed-issuer'), ['Issuer/*']);
});

test('an allow-list, issuers with and without a group, and no challenge', async () => {
  const args = await operatorArgs(
    '--set',
    'operator.domainOwnership.releaseNamespaceClaimsAny=false',
    '--set',
    'operator.domainOwnership.dnsChallenge=false',
    '--set-json',
    'operator.domainOwnership.allow={"team-a":["example.com","*.example.com"],"*":["*.shared.test"]}',
    '--set-json',
    'operator.certificates.allowedIssuers=[{"kind":"ClusterIssuer","name":"letsencrypt"},{"kind":"ClusterIssuer","name":"pca","group":"awspca.cert-manager.io"}]',
  );
  assert.deepEqual(parseDomainAllow(values(args, 'domain-allow')), { '*': ['*.shared.test'], 'team-a': ['example.com', '*.example.com'] });
  assert.ok(args.includes('--no-domain-challenge'));
  assert.deepEqual(values(args, 'allowed-issuer').map(parseIssuerRule), [
    { kind: 'ClusterIssuer', name: 'letsencrypt' },
    { kind: 'ClusterIssuer', name: 'pca', group: 'awspca.cert-manager.io' },
  ]);
});
