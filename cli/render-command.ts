// `stafette render <manifests> --out <dir>`: the operator's render, offline, like
// `helm template`. It writes the bundle the MTA loads, keeps DKIM keys between runs
// and prints the DNS records to publish.
//
//   <out>/bundle/bundle.json    the config part of the bundle (a ConfigMap in a cluster)
//   <out>/bundle/secrets.json   the secret part (a Secret), mode 0600
//   <out>/dkim/<domain>/<selector>.pem   DKIM private keys, generated on first render
//   <out>/dns/<domain>.zone     the records to publish, in zone-file form
//   <out>/srs-master.key        the root of the bundle's SRS keys (operator/src/srs/), made once, mode 0600
//   <out>/dns/<domain>.mta-sts.txt       the MTA-STS policy the MTA serves over HTTPS (when it is served)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashPassword, verifyPassword } from '../bundle/password-hash.ts';
import type { BundleSecrets } from '../bundle/schema.ts';
import { generateDkimKey } from '../operator/src/dkim/keys.ts';
import { describeIssue } from '../operator/src/render/issues.ts';
import type { MtaStsServer } from '../operator/src/render/input.ts';
import { render, type DomainReport } from '../operator/src/render/render.ts';
import type { DeliveryTargetPolicy } from '../bundle/delivery-targets.ts';
import { srsKeysAt } from '../operator/src/srs/srs-keys.ts';
import { readKeys, writeKey } from './key-store.ts';
import { readManifests } from './manifests.ts';

export interface RenderOptions {
  out: string;
  quiet?: boolean;
  /** Who serves the MTA-STS policies (operator/src/render/input.ts); default the MTA. */
  mtaStsServedBy?: MtaStsServer;
  /** The platform's delivery-target allow-lists (bundle/delivery-targets.ts); default defaultDeliveryTargetPolicy. */
  deliveryTargets?: DeliveryTargetPolicy;
  print?: (line: string) => void;
}

/** Returns the process exit code: 0, or 1 when a manifest or resource has an error. */
export function renderCommand(manifestDir: string, options: RenderOptions): number {
  const print = options.print ?? ((line: string) => console.log(line));
  const manifests = readManifests(manifestDir);
  for (const p of manifests.problems) print(`error: ${p.where}: ${p.message}`);

  const keyDir = join(options.out, 'dkim');
  const bundleDir = join(options.out, 'bundle');
  const previous = readPreviousSecrets(join(bundleDir, 'secrets.json'));
  const input = {
    domains: manifests.domains,
    mailboxes: manifests.mailboxes,
    relays: manifests.relays,
    secrets: manifests.secrets,
    dkimKeys: readKeys(keyDir),
    mtaStsServedBy: options.mtaStsServedBy ?? 'mta',
    ...(options.deliveryTargets ? { deliveryTargets: options.deliveryTargets } : {}),
    srsKeys: srsKeysAt(srsMasterKey(join(options.out, 'srs-master.key')), Date.now()),
    // Keep the earlier hash while the password is unchanged, so re-rendering is stable.
    hashPassword: (address: string, password: string) => {
      const earlier = previous?.passwords[address];
      return earlier && verifyPassword(earlier, password) ? earlier : hashPassword(password);
    },
  };

  let result = render(input);
  if (result.missingDkimKeys.length > 0) {
    for (const missing of result.missingDkimKeys) {
      const key = generateDkimKey(missing.algorithm);
      const path = writeKey(keyDir, { ...key, domain: missing.domain, selector: missing.selector });
      if (!options.quiet) print(`generated ${missing.algorithm} DKIM key ${path}`);
    }
    result = render({ ...input, dkimKeys: readKeys(keyDir) });
  }

  mkdirSync(bundleDir, { recursive: true });
  writeAtomically(join(bundleDir, 'bundle.json'), `${JSON.stringify(result.bundle, null, 2)}\n`, 0o644);
  writeAtomically(join(bundleDir, 'secrets.json'), `${JSON.stringify(result.secrets, null, 2)}\n`, 0o600);
  const dnsDir = join(options.out, 'dns');
  mkdirSync(dnsDir, { recursive: true });
  for (const domain of result.domains) {
    writeAtomically(join(dnsDir, `${domain.domain}.zone`), zoneFile(domain), 0o644);
    if (domain.mtaStsPolicy) writeAtomically(join(dnsDir, `${domain.domain}.mta-sts.txt`), domain.mtaStsPolicy, 0o644);
  }

  for (const issue of result.issues) print(describeIssue(issue));
  for (const error of result.bundleErrors) print(`Error: the MTA would refuse this bundle: ${error}`);
  if (!options.quiet) {
    print(
      `wrote ${join(bundleDir, 'bundle.json')} and secrets.json (revision ${result.bundle.revision}): ` +
        `${count(result.bundle.domains, 'domain')}, ${count(result.bundle.mailboxes, 'mailbox', 'mailboxes')}, ` +
        `${count(result.bundle.aliases, 'alias', 'aliases')}, ${count(result.bundle.relays, 'relay')}`,
    );
    for (const domain of result.domains) {
      print('');
      print(`DNS records to publish for ${domain.domain} (MailDomain ${domain.namespace}/${domain.name}):`);
      for (const line of zoneFile(domain).trimEnd().split('\n')) print(`  ${line}`);
      if (domain.mtaStsPolicy) {
        print(`  The MTA serves its MTA-STS policy at https://mta-sts.${domain.domain}/.well-known/mta-sts.txt`);
        print(`  (also written to ${join(dnsDir, `${domain.domain}.mta-sts.txt`)})`);
      }
    }
  }
  const errors = manifests.problems.length + result.issues.filter((i) => i.severity === 'Error').length + result.bundleErrors.length;
  return errors > 0 ? 1 : 0;
}

function count(items: unknown[], one: string, many = `${one}s`): string {
  return `${items.length} ${items.length === 1 ? one : many}`;
}

export function zoneFile(domain: DomainReport): string {
  const width = Math.max(...domain.dnsRecords.map((r) => r.name.length + 1));
  return domain.dnsRecords.map((r) => `${`${r.name}.`.padEnd(width)}  IN ${r.type.padEnd(3)}  ${r.value}`).join('\n') + '\n';
}

function readPreviousSecrets(path: string): BundleSecrets | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BundleSecrets;
  } catch {
    return undefined;
  }
}

/** Writes via a temporary file and rename, so a reader (the MTA) never sees half a file. */
function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

// The SRS master key of offline renders (the operator keeps its own in a Secret): made on the
// first render and kept, like the DKIM keys, so forwarded mail's SRS addresses keep verifying.
function srsMasterKey(path: string): Buffer {
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  const key = randomBytes(32);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
  return key;
}
