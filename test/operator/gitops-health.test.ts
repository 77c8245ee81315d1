// Health as GitOps tools read it, checked with their own code against objects read back from a
// real API server: kstatus (sigs.k8s.io/cli-utils, which Flux and kpt decide a sync with) and
// the Argo CD health script of helm/argocd-cm-health.yaml, taken from a real argocd-cm
// ConfigMap it was merged into, run in gopher-lua as Argo CD runs it (test/gitops-health).
// The operator runs under the chart's own Role, so its Warning Events prove that RBAC too.
//
//   not yet seen by the operator             InProgress   Progressing
//   served as declared                       Current      Healthy
//   waiting for cert-manager                 InProgress   Progressing
//   stuck until someone changes something    Failed       Degraded     (+ a Warning Event)
//   a spec change the operator has not seen  InProgress   Progressing
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { argoHealthOf, kstatusOf } from '../harness/gitops-health.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import type { RunningOperator } from '../../operator/src/operator.ts';
import { apply, getJson, renderOperatorRbac, runOperator } from './operator-fixture.ts';

const ns = 'gitops';
const sa = `system:serviceaccount:${ns}:stafette-operator`;
const argoFor = { Current: 'Healthy', InProgress: 'Progressing', Failed: 'Degraded' } as const;
type Kstatus = keyof typeof argoFor;

const broken = `
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: stranger}
spec: {address: stranger@unknown.example}
---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: carol}
spec: {address: carol@example.com, passwordSecretRef: {name: carol-password}}
---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: alice-again}
spec: {address: alice@example.com}
---
apiVersion: stafette.dev/v1alpha1
kind: Relay
metadata: {name: partner-again}
spec: {host: smtp2.partner.example.net, port: 587, tls: starttls, match: {recipientDomains: [partner.example.net]}}
`;

const tlsDomain = (name: string, domain: string) => `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: ${name}}
spec:
  domain: ${domain}
  tls: {issuerRef: {name: letsencrypt, kind: ClusterIssuer}}
  inbound: {catchAll: postmaster@example.com}
`;

// A policy of the kind Kyverno or Gatekeeper enforces: this Certificate may not be written.
const refusingPolicy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-refused-certificates}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [cert-manager.io], apiVersions: ['*'], resources: [certificates], operations: [CREATE, UPDATE]}
  validations:
    - expression: "object.metadata.name != 'refused-tls'"
      message: Certificates for refused.example are not allowed by policy
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-refused-certificates}
spec:
  policyName: no-refused-certificates
  validationActions: [Deny]
`;

describe('health as GitOps tools read it: kstatus (Flux, kpt) and the Argo CD health script', () => {
  let kube: KubeApiServer;
  let script: string;
  let operator: RunningOperator | null = null;
  const start = async () => {
    operator = await runOperator(kube, ns, { as: sa, pollMs: 500 });
  };
  const stop = async () => {
    await operator?.stop();
    operator = null;
  };

  before(async () => {
    kube = await startKubeApiServer();
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', '-'], { input: await renderOperatorRbac(ns) });
    // The health script as Argo CD reads it: merged into argocd-cm with the documented command.
    await kube.ok(['create', 'namespace', 'argocd']);
    await kube.ok(['create', 'configmap', 'argocd-cm', '-n', 'argocd', '--from-literal=url=https://argocd.example.com']);
    await kube.ok(['patch', 'configmap', 'argocd-cm', '-n', 'argocd', '--type', 'merge', '--patch-file', join(REPO_ROOT, 'helm/argocd-cm-health.yaml')]);
    const cm = await getJson<{ data: Record<string, string> }>(kube, ['get', 'configmap', 'argocd-cm', '-n', 'argocd']);
    const keys = ['MailDomain', 'Mailbox', 'Relay'].map((k) => `resource.customizations.health.stafette.dev_${k}`);
    for (const key of keys) assert.ok(cm.data[key], `${key} in argocd-cm`);
    script = cm.data[keys[0] as string] as string;
    assert.ok(
      keys.every((k) => cm.data[k] === script),
      'one script for the three kinds',
    );
    assert.equal(
      script,
      (parse(readFileSync(join(REPO_ROOT, 'helm/argocd-cm-health.yaml'), 'utf8')) as { data: Record<string, string> }).data[keys[0] as string],
    );
  });
  after(async () => {
    await stop();
    await kube?.stop();
  });

  /** Both verdicts for each resource, read from the API server in one `kubectl get`. */
  async function health(resources: string[]): Promise<Map<string, { kstatus: string; argo: string; message: string; argoMessage: string }>> {
    const list = await getJson(kube, ['get', ...resources, '-n', ns]);
    const [k, a] = await Promise.all([kstatusOf(list), argoHealthOf(script, list)]);
    const out = new Map<string, { kstatus: string; argo: string; message: string; argoMessage: string }>();
    k.forEach((v, i) =>
      out.set(`${v.kind.toLowerCase()}/${v.name}`, { kstatus: v.status, message: v.message, argo: a[i]?.status ?? '', argoMessage: a[i]?.message ?? '' }),
    );
    return out;
  }

  /** The Warning Events of the namespace (events.k8s.io/v1, as the operator writes them). */
  async function warnings() {
    const list = await getJson<{ items: { type: string; reason: string; regarding: { kind: string; name: string }; series?: { count: number } }[] }>(kube, [
      'get',
      'events.events.k8s.io',
      '-n',
      ns,
    ]);
    return list.items.filter((e) => e.type === 'Warning');
  }

  /** Waits for a Warning Event about `kind/name` with this reason. */
  async function expectWarning(kind: string, name: string, reason: string) {
    await waitFor(
      `a ${reason} Warning for ${kind}/${name}`,
      async () => (await warnings()).some((e) => e.regarding.kind === kind && e.regarding.name === name && e.reason === reason),
      { intervalMs: 250 },
    );
  }

  /** Waits until every resource is `expected` to kstatus, and the Argo CD script agrees; returns the messages. */
  async function expectHealth(expected: Kstatus, resources: string[], timeoutMs = 30_000) {
    let last = new Map<string, { kstatus: string; argo: string; message: string; argoMessage: string }>();
    try {
      return await waitFor(
        `${resources.join(', ')} ${expected}`,
        async () => {
          last = await health(resources);
          return [...last.values()].every((v) => v.kstatus === expected && v.argo === argoFor[expected]) && last.size === resources.length ? last : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${JSON.stringify([...last], null, 1)}`, { cause: error });
    }
  }

  test('not yet seen by the operator: InProgress and Progressing, not healthy by default', async () => {
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', join(REPO_ROOT, 'examples/')]);
    await apply(kube, ns, broken);
    const seen = await expectHealth('InProgress', [
      'maildomain/example-com',
      'mailbox/alice',
      'mailbox/bob',
      'relay/partner',
      'mailbox/stranger',
      'relay/partner-again',
    ]);
    assert.equal(seen.get('mailbox/alice')?.message, 'Mailbox generation is 1, but latest observed generation is -1');
    assert.match(seen.get('mailbox/alice')?.argoMessage ?? '', /waiting for the Stafette operator/);
  });

  test('served as declared: Current and Healthy', async () => {
    await start();
    const seen = await expectHealth('Current', ['maildomain/example-com', 'mailbox/alice', 'mailbox/bob', 'relay/partner']);
    assert.equal(seen.get('maildomain/example-com')?.argoMessage, 'mail for example.com is received and signed');
  });

  test('a Mailbox for an unknown domain, a missing password Secret, a taken address, an overlapping Relay: Failed and Degraded, with a Warning Event', async () => {
    const seen = await expectHealth('Failed', ['mailbox/stranger', 'mailbox/carol', 'mailbox/alice-again', 'relay/partner-again']);
    assert.match(seen.get('mailbox/stranger')?.message ?? '', /no MailDomain serves unknown\.example/);
    assert.match(seen.get('mailbox/stranger')?.argoMessage ?? '', /^DomainNotFound: /);
    assert.match(seen.get('mailbox/carol')?.argoMessage ?? '', /^PasswordSecretNotFound: /);
    assert.match(seen.get('mailbox/alice-again')?.argoMessage ?? '', /^AddressConflict: /);
    assert.match(seen.get('relay/partner-again')?.argoMessage ?? '', /^RelayConflict: /);

    await waitFor('a Warning Event for each', async () => {
      const got = new Set((await warnings()).map((e) => `${e.regarding.kind}/${e.regarding.name} ${e.reason}`));
      return [
        'Mailbox/stranger DomainNotFound',
        'Mailbox/carol PasswordSecretNotFound',
        'Mailbox/alice-again AddressConflict',
        'Relay/partner-again RelayConflict',
      ].every((w) => got.has(w));
    });
    // Seen again by later reconciles (a change elsewhere in the namespace): one Event, its count growing.
    let nudges = 0;
    await waitFor(
      "the stranger's Event counted twice",
      async () => {
        await kube.ok(['annotate', '--overwrite', 'mailbox/bob', '-n', ns, `test.stafette.dev/nudge=${nudges++}`]);
        const mine = (await warnings()).filter((e) => e.regarding.name === 'stranger');
        assert.equal(mine.length, 1, 'repeats fold into one Event');
        return (mine[0]?.series?.count ?? 1) >= 2;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const described = await kube.ok(['describe', 'mailbox/stranger', '-n', ns]);
    assert.match(described, /Warning\s+DomainNotFound\s+.*\(x\d+ over [^)]+\).*spec\.address: no MailDomain serves unknown\.example/);
  });

  test('fixed by creating what was missing: Current and Healthy again', async () => {
    await kube.ok(['create', 'secret', 'generic', 'carol-password', '-n', ns, '--from-literal=password=pw']);
    await kube.ok(['label', 'secret', 'carol-password', '-n', ns, 'stafette.dev/secret-use=password']);
    await expectHealth('Current', ['mailbox/carol']);
    const carol = await getJson<{ status: { conditions: { type: string }[] } }>(kube, ['get', 'mailbox/carol', '-n', ns]);
    assert.deepEqual(
      carol.status.conditions.map((c) => c.type),
      ['Ready'],
      'Stalled is gone',
    );
  });

  test('a MailDomain whose tls.issuerRef needs cert-manager, which is not installed: Failed and Degraded, with a Warning Event', async () => {
    await apply(kube, ns, tlsDomain('secure', 'secure.example'));
    const seen = await expectHealth('Failed', ['maildomain/secure']);
    assert.match(seen.get('maildomain/secure')?.argoMessage ?? '', /^CertManagerNotInstalled: .*install cert-manager/);
    await expectWarning('MailDomain', 'secure', 'CertManagerNotInstalled');
  });

  test('with cert-manager: issuing is InProgress, a failed issuance Failed (with a Warning Event), the issued certificate Current', async () => {
    // Installed now: a restarted operator looks the API up afresh (a running one within 5 minutes).
    await stop();
    await kube.ok(['apply', '--server-side', '-f', join(REPO_ROOT, 'test/operator/crds/')]);
    await kube.ok(['wait', '--for=condition=Established', 'crd/certificates.cert-manager.io']);
    await start();
    const issuing = await expectHealth('InProgress', ['maildomain/secure']);
    assert.match(issuing.get('maildomain/secure')?.argoMessage ?? '', /^Issuing: /);

    // What cert-manager writes when an attempt fails, then when it succeeds.
    const certStatus = (status: unknown) =>
      kube.ok(['patch', 'certificate.cert-manager.io/secure-tls', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    await certStatus({
      conditions: [
        { type: 'Ready', status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' },
        {
          type: 'Issuing',
          status: 'False',
          reason: 'Failed',
          message: 'The certificate request has failed to complete and will be retried: order is in "invalid" state',
        },
      ],
      lastFailureTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      failedIssuanceAttempts: 1,
    });
    const failed = await expectHealth('Failed', ['maildomain/secure']);
    assert.match(
      failed.get('maildomain/secure')?.argoMessage ?? '',
      /^IssuanceFailed: cert-manager could not issue mx\.secure\.example: The certificate request has failed/,
    );
    await expectWarning('MailDomain', 'secure', 'IssuanceFailed');

    await certStatus({
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired' }],
      lastFailureTime: null,
      failedIssuanceAttempts: null,
    });
    await expectHealth('Current', ['maildomain/secure']);
  });

  test('a MailDomain whose Certificate write is refused by a policy: Failed and Degraded, with a Warning Event', async () => {
    await kube.ok(['apply', '--server-side', '-f', '-'], { input: refusingPolicy });
    await apply(kube, ns, tlsDomain('refused', 'refused.example'));
    const seen = await expectHealth('Failed', ['maildomain/refused']);
    assert.match(seen.get('maildomain/refused')?.argoMessage ?? '', /^ApplyFailed: .*not allowed by policy/);
    await expectWarning('MailDomain', 'refused', 'ApplyFailed');
  });

  test('a spec change the operator has not seen yet: InProgress and Progressing until it has', async () => {
    await stop();
    await kube.ok(['patch', 'mailbox/alice', '-n', ns, '--type=merge', '-p', '{"spec":{"aliases":["a.smith@example.com","alice.smith@example.com"]}}']);
    const seen = await expectHealth('InProgress', ['mailbox/alice']);
    assert.equal(seen.get('mailbox/alice')?.message, 'Mailbox generation is 2, but latest observed generation is 1');
    await start();
    await expectHealth('Current', ['mailbox/alice']);
  });
});
