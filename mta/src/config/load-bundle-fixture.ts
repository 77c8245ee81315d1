// Test fixtures for bundle loading: a small valid bundle, and the two ways it appears on
// disk (plain files, or a Kubernetes volume with the `..data` symlink swap). Used by the
// unit tests beside the loader and by the MTA integration tests.
import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApiVersion, type Bundle, type BundleSecrets } from '../../../bundle/schema.ts';

/** A valid bundle for `domain` with one local mailbox per address; both parts carry `revision`. */
export function minimalBundle(revision: string, addresses: string[], domain = 'example.test'): { bundle: Bundle; secrets: BundleSecrets } {
  const source = { namespace: 'mail', name: 'fixture' };
  return {
    bundle: {
      apiVersion: bundleApiVersion,
      revision,
      domains: [
        {
          domain,
          hostname: `mx.${domain}`,
          source,
          dkim: { signing: [], selectors: [] },
          tls: null,
          inbound: { catchAll: null, maxMessageSize: 10 * 1024 * 1024, maxRecipients: 100, dmarc: 'report' },
          outbound: { relay: null },
        },
      ],
      mailboxes: addresses.map((address) => ({ address, source, login: false, sendAs: [], delivery: { type: 'local' as const } })),
      aliases: [],
      relays: [],
    },
    secrets: {
      apiVersion: bundleApiVersion,
      revision,
      dkimKeys: [],
      passwords: {},
      relayCredentials: {},
      webhookKeys: {},
      tlsCertificates: {},
    },
  };
}

/** Writes files into `dir` directly, each by temporary file and rename (an atomic writer). */
export function writePlainFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const temporary = join(dir, `.${name}.tmp`);
    writeFileSync(temporary, text);
    renameSync(temporary, join(dir, name));
  }
}

let generation = 0;

/**
 * Writes files into `dir` the way the kubelet updates a ConfigMap or Secret volume: the
 * payload goes into a new `..<timestamp>` directory, `..data_tmp` is pointed at it and
 * renamed over `..data` (the one atomic step), each visible file is a symlink
 * `<name> -> ..data/<name>`, and the previous payload directory is removed.
 */
export function writeMountedFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  const payload = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.pid}.${++generation}`;
  mkdirSync(join(dir, payload));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, payload, name), text);
  const data = join(dir, '..data');
  const previous = existsSync(data) ? readlinkSync(data) : null;
  const temporary = join(dir, '..data_tmp');
  rmSync(temporary, { force: true });
  symlinkSync(payload, temporary);
  renameSync(temporary, data);
  for (const name of Object.keys(files)) {
    if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  }
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
}

/** The JSON texts of a bundle's two parts. */
export function bundleFiles(parts: { bundle: unknown; secrets: unknown }): { config: Record<string, string>; secrets: Record<string, string> } {
  return {
    config: { 'bundle.json': `${JSON.stringify(parts.bundle, null, 2)}\n` },
    secrets: { 'secrets.json': `${JSON.stringify(parts.secrets, null, 2)}\n` },
  };
}
