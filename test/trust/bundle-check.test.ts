// One resource cannot freeze everyone's configuration (issue 12, item 4; docs/trust-model.md):
// a MailDomain whose value passes the CRD but fails the MTA's bundle check is left out and
// flagged (Ready=False, BundleCheckFailed naming the field, a Warning Event), every other
// domain's changes keep applying, and a freshly started MTA loads the bundle the operator wrote.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBundleFiles } from '../../bundle/files.ts';
import { checkBundle } from '../../bundle/check.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { apply, getJson, runOperator, waitForCondition } from '../operator/operator-fixture.ts';
import { startMtaProcess } from '../ops/mta-process.ts';

const ns = 'trust-bundle';

async function readBundle(kube: KubeApiServer) {
  const files = new Map<string, Buffer>();
  const cm = await getJson<{ binaryData: Record<string, string> }>(kube, ['get', 'configmap', 'stafette-bundle', '-n', ns]);
  for (const [k, v] of Object.entries(cm.binaryData)) files.set(k, Buffer.from(v, 'base64'));
  for (let i = 0; i < 2; i += 1) {
    const s = await getJson<{ data: Record<string, string> }>(kube, ['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', ns]);
    for (const [k, v] of Object.entries(s.data)) files.set(k, Buffer.from(v, 'base64'));
  }
  const decoded = decodeBundleFiles(files);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
  return decoded;
}

const domainYaml = (name: string, domain: string, maxMessageSize: string) => `
apiVersion: stafette.dev/v1alpha1
kind: MailDomain
metadata: {name: ${name}}
spec:
  domain: ${domain}
  inbound:
    maxMessageSize: "${maxMessageSize}"
    aliases: [{name: postmaster, to: [alice@${domain}]}]
---
apiVersion: stafette.dev/v1alpha1
kind: Mailbox
metadata: {name: alice-${name}}
spec: {address: alice@${domain}}
`;

describe('a MailDomain the MTA would refuse', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
    await kube.ok(['create', 'namespace', ns]);
  });
  after(async () => {
    await kube?.stop();
  });

  test('is flagged alone; the others keep applying and a new MTA loads the bundle', async (t) => {
    await apply(kube, ns, domainYaml('good', 'good.example', '25Mi'));
    // The first value the CRD lets through that the bundle check refuses: "0" (not positive),
    // or one too large to be a safe integer number of bytes.
    let badValue: string | undefined;
    for (const candidate of ['0', '9999999999999G']) {
      const applied = await kube.run(['apply', '--server-side', '--field-manager=test', '-n', ns, '-f', '-'], {
        input: domainYaml('bad', 'bad.example', candidate),
      });
      if (applied.code === 0) {
        badValue = candidate;
        break;
      }
    }
    assert.ok(badValue, 'no candidate passed the CRD');
    const operator = await runOperator(kube, ns);
    t.after(() => operator.stop());

    const flagged = await waitForCondition(kube, 'maildomain/bad', ns, 'False', 'BundleCheckFailed', 'Ready', 60_000);
    assert.match(flagged.message, /^spec\.inbound\.maxMessageSize: the MTA would refuse the bundle: domains\[\d+\]\.inbound\.maxMessageSize/);
    const stalled = await waitForCondition(kube, 'maildomain/bad', ns, 'True', 'BundleCheckFailed', 'Stalled');
    assert.ok(stalled);
    await waitForCondition(kube, 'maildomain/good', ns, 'True', undefined, 'Ready', 60_000);
    await waitForCondition(kube, 'mailbox/alice-good', ns, 'True');
    await waitForCondition(kube, 'mailbox/alice-bad', ns, 'False', 'DomainNotFound');

    // A Warning Event on the offender, with the condition's reason.
    await waitFor('a BundleCheckFailed Warning event', async () => {
      const events = await getJson<{ items: { reason: string; type: string; regarding: { name: string; kind: string } }[] }>(kube, [
        'get',
        'events.events.k8s.io',
        '-n',
        ns,
      ]);
      return events.items.some(
        (e) => e.reason === 'BundleCheckFailed' && e.type === 'Warning' && e.regarding.kind === 'MailDomain' && e.regarding.name === 'bad',
      );
    });

    // Every other domain's changes keep applying: a new Mailbox of good.example is published.
    await apply(kube, ns, 'apiVersion: stafette.dev/v1alpha1\nkind: Mailbox\nmetadata: {name: bob-good}\nspec: {address: bob@good.example}\n');
    await waitForCondition(kube, 'mailbox/bob-good', ns, 'True');
    const decoded = await waitFor('bob in the bundle', async () => {
      const d = await readBundle(kube);
      const checked = checkBundle(d.ok ? d.config : null, d.ok ? d.secrets : null);
      return checked.ok && checked.bundle.mailboxes.some((m) => m.address === 'bob@good.example') ? d : undefined;
    });
    assert.ok(decoded.ok);
    const checked = checkBundle(decoded.config, decoded.secrets);
    assert.ok(checked.ok, checked.ok ? '' : checked.errors.join('\n'));
    assert.deepEqual(
      checked.bundle.domains.map((d) => d.domain),
      ['good.example'],
    );
    assert.equal(await operator.metrics.bundleCheckRefused.get().then((m) => m.values[0]?.value), 1);

    // A freshly started MTA, with no earlier bundle to fall back on, loads this one and is ready.
    const mta = await startMtaProcess({ name: 'trust-fresh', addresses: [], initial: { bundle: decoded.config, secrets: decoded.secrets } });
    t.after(() => mta.close());
    assert.equal((await mta.ops('/readyz')).status, 200);

    // Fixed, the domain comes back.
    await apply(kube, ns, domainYaml('bad', 'bad.example', '10Mi'));
    await waitForCondition(kube, 'maildomain/bad', ns, 'True', undefined, 'Ready', 60_000);
    await waitForCondition(kube, 'mailbox/alice-bad', ns, 'True');
  });
});
