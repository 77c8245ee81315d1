// The install paths the docs give, rendered as they are run (offline, the project-built helm):
// the Argo CD example as Argo CD renders it (`helm template`, where the chart's lookup finds
// nothing) and the `helm install`/`helm upgrade` commands of the README and the chart README.
// Rendered manifests are free-form YAML; the objects stay loosely typed in this file only.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseSealKeys } from '../../mta/src/queue/record-seal.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { exec, find, helm, objects, type K8sObject } from './chart-template.ts';

const argoFile = join(REPO_ROOT, 'helm/argocd-application.yaml');
const argoText = readFileSync(argoFile, 'utf8');
const argoApps = parseAllDocuments(argoText).map((d) => d.toJS() as K8sObject);

/** What Argo CD runs for an Application with a helm source: release = the Application's name. */
async function renderAsArgo(app: K8sObject): Promise<string> {
  const source = app.spec.source;
  const dir = mkdtempSync(join(tmpdir(), 'stafette-argo-'));
  try {
    const valuesObject = join(dir, 'values-object.yaml');
    writeFileSync(valuesObject, stringify(source.helm.valuesObject ?? {}));
    const files = (source.helm.valueFiles as string[]).flatMap((f) => ['-f', join(REPO_ROOT, source.path, f)]);
    // valuesObject wins over valueFiles, as in Argo CD; it renders with the CRDs.
    const result = await helm([
      'template',
      app.metadata.name,
      join(REPO_ROOT, source.path),
      '--namespace',
      app.spec.destination.namespace,
      '--include-crds',
      ...files,
      '-f',
      valuesObject,
    ]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shell lines of the example's header (`#   command`), continuations joined. */
function headerCommands(): string[] {
  const header = argoText.slice(0, argoText.indexOf('apiVersion:'));
  const lines = header
    .split('\n')
    .filter((l) => l.startsWith('#   '))
    .map((l) => l.slice(4));
  return lines
    .join('\n')
    .replace(/\\\n\s*/g, '')
    .split('\n');
}

/** The value a shell expression prints, with the machine's bash and openssl. */
async function shell(script: string): Promise<string> {
  return (await exec('bash', ['-euc', script])).stdout;
}

interface InstallCommand {
  readme: string;
  verb: 'install' | 'upgrade';
  args: string[];
}

/** The `helm install|upgrade stafette` commands of the sh blocks that also apply the examples. */
function readmeCommands(readme: string): InstallCommand[] {
  const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').replace(/\\\n\s*/g, ' '));
  const commands: InstallCommand[] = [];
  for (const block of blocks) {
    for (const raw of block.split('\n')) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      const match = /^helm (install|upgrade) stafette (.*)$/.exec(line);
      if (match) commands.push({ readme, verb: match[1] as 'install' | 'upgrade', args: (match[2] ?? '').split(/\s+/) });
    }
  }
  return commands;
}

/** `helm template` with a README command's arguments: paths from the repository root. */
async function renderCommand(command: InstallCommand): Promise<K8sObject[]> {
  const args = command.args
    .filter((a) => a !== '--create-namespace')
    .map((a) => (!a.startsWith('-') && a.includes('/') && existsSync(join(REPO_ROOT, a)) ? join(REPO_ROOT, a) : a));
  const result = await helm(['template', 'stafette', ...args]);
  assert.equal(result.code, 0, `${command.readme}: helm ${command.verb} stafette ${command.args.join(' ')}: ${result.stderr}`);
  return objects(result.stdout);
}

function defaultDeliveryOf(list: K8sObject[]): string | undefined {
  const args = find(list, 'Deployment', 'stafette-operator').spec.template.spec.containers[0].args as string[];
  return args.find((a) => a.startsWith('--default-delivery='))?.slice('--default-delivery='.length);
}

describe('the install paths the docs give', () => {
  test('Argo CD: two renders of the example are byte for byte the same and hold no Secret; the MTA reads the two Secrets its header makes', async () => {
    const app = find(argoApps, 'Application', 'stafette');
    const first = await renderAsArgo(app);
    const second = await renderAsArgo(app);
    assert.ok(first === second, 'a second `helm template` of the Argo CD example differs: something is drawn at render time');
    const list = objects(first);
    assert.deepEqual(
      list.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
      [],
      'no Secret may be rendered: under helm template its contents would be drawn anew on every sync',
    );

    const values = app.spec.source.helm.valuesObject;
    const natsUsers: string = values.nats.roleUsers.existingSecret;
    const seal: string = values.mta.queueSeal.existingSecret;
    const pod = find(list, 'Deployment', 'stafette-mta').spec.template.spec;
    assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'queue-seal').secret.secretName, seal);
    const refs = (pod.containers[0].env as { valueFrom?: { secretKeyRef?: { name: string } } }[]).flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? []);
    assert.ok(refs.length > 0 && refs.every((name) => name === natsUsers), `the MTA's NATS passwords come from ${natsUsers}: ${refs.join(', ')}`);

    // The NATS servers (the other Application, helm/nats-values.yaml) read the same Secret.
    const natsApp = find(argoApps, 'Application', 'nats');
    const natsValues = parse(readFileSync(join(REPO_ROOT, 'helm/nats-values.yaml'), 'utf8')) as {
      container: { env: Record<string, { valueFrom: { secretKeyRef: { name: string } } }> };
    };
    assert.deepEqual(new Set(Object.values(natsValues.container.env).map((e) => e.valueFrom.secretKeyRef.name)), new Set([natsUsers]));

    // The header makes both Secrets, in the namespaces that read them, with values of the right form.
    const commands = headerCommands();
    const creates = (name: string) => commands.filter((c) => c.includes(`kubectl create secret generic ${name} `));
    assert.match(creates(natsUsers).join('\n'), /for ns in mail nats; do/);
    assert.equal(natsApp.spec.destination.namespace, 'nats');
    assert.equal(app.spec.destination.namespace, 'mail');
    assert.match(creates(seal).join('\n'), / -n mail /);
    const passwords = commands.find((c) => /^i=/.test(c));
    assert.ok(passwords, 'the header draws the NATS role passwords (i=..., d=..., a=...)');
    const drawn = (await shell(`${passwords}; printf '%s\\n' "$i" "$d" "$a"`)).trim().split('\n');
    assert.equal(new Set(drawn).size, 3);
    // nats-server reads them as config values: a letter first, then letters and digits (docs/trust-model.md §5).
    for (const password of drawn) assert.match(password, /^[A-Za-z][A-Za-z0-9]{15,}$/);
    for (const key of ['intake-password', 'delivery-password', 'admin-password'])
      assert.match(creates(natsUsers).join('\n'), new RegExp(`--from-literal=${key}=\\$`));
    const sealExpression = /--from-literal=keys=(\$\([^)]*\))/.exec(creates(seal).join('\n'))?.[1];
    assert.ok(sealExpression, 'the header draws the seal key with --from-literal=keys=$(...)');
    // The MTA's own parser of --queue-seal-key-file takes it.
    assert.equal(parseSealKeys(await shell(`printf '%s' ${sealExpression}`)).length, 1);
  });

  test("the READMEs' install blocks give every example Mailbox without its own delivery a delivery target, and their upgrades keep it", async () => {
    const commands = [...readmeCommands('README.md'), ...readmeCommands('charts/stafette/README.md')];
    assert.deepEqual(
      commands.filter((c) => c.verb === 'install' && c.args.includes('helm/production.yaml')).map((c) => c.readme),
      ['README.md', 'charts/stafette/README.md'],
      'each README has one production install',
    );
    const mailboxes = readdirSync(join(REPO_ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => parseAllDocuments(readFileSync(join(REPO_ROOT, 'examples', f), 'utf8')).map((d) => d.toJS() as K8sObject))
      .filter((o) => o.kind === 'Mailbox');
    const undelivered = mailboxes.filter((m) => m.spec.delivery === undefined).map((m) => m.metadata.name);
    assert.ok(undelivered.length > 0, 'the examples rely on the default delivery');
    for (const readme of ['README.md', 'charts/stafette/README.md']) {
      const ofReadme = commands.filter((c) => c.readme === readme && c.args.includes('helm/production.yaml'));
      const install = ofReadme.find((c) => c.verb === 'install');
      assert.ok(install);
      const rendered = await renderCommand(install);
      const target = defaultDeliveryOf(rendered);
      assert.match(target ?? 'none', /^lmtp:\/\/[^:]+:\d+$/, `${readme}: Mailboxes ${undelivered.join(', ')} would be NoDeliveryTarget`);
      const host = new URL(target ?? '').hostname;
      assert.ok(
        find(rendered, 'Deployment', 'stafette-mta').spec.template.spec.containers[0].args.includes(`--allow-lmtp-host=${host}`),
        `${readme}: the MTA allows ${host}`,
      );
      for (const upgrade of ofReadme.filter((c) => c.verb === 'upgrade')) {
        assert.equal(defaultDeliveryOf(await renderCommand(upgrade)), target, `${readme}: helm upgrade ${upgrade.args.join(' ')} drops the default delivery`);
      }
    }
  });
});
