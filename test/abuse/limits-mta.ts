// What the shared-limit tests (shared-auth-limits, shared-rate-limits) start and say: real
// `stafette mta` processes with mx and submission listeners on one real nats-server, a bundle
// of mailboxes that may log in, and the submission dialogs up to AUTH, written once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../bundle/password-hash.ts';
import { bundleFiles, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { testMtaArgv } from '../harness/mta-argv.ts';
import type { NatsServer } from '../harness/nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../harness/process.ts';
import { testBundle, testDomain } from '../transports/transport-fixtures.ts';

export interface LimitsMta {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly opsPort: number;
  readonly mx: { host: string; port: number };
  readonly submission: { host: string; port: number };
}

/** A directory with the mounted bundle: example.test and these logins with their passwords. */
export function loginBundleDir(prefix: string, logins: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), `stafette-${prefix}-`));
  const addresses = Object.keys(logins);
  const parts = testBundle({
    domains: [testDomain('example.test')],
    mailboxes: addresses.map((address) => ({
      address,
      source: { namespace: 'mail', name: address.split('@')[0]! },
      login: true,
      sendAs: [],
      delivery: { type: 'local' as const },
    })),
  });
  const passwords = Object.fromEntries(addresses.map((a) => [a, hashPassword(logins[a]!)]));
  const files = bundleFiles({ bundle: parts.bundle, secrets: { ...parts.secrets, passwords } });
  writeMountedFiles(join(dir, 'config'), files.config);
  writeMountedFiles(join(dir, 'secret'), files.secrets);
  return dir;
}

/** One MTA process on that bundle, intake only, with the limit flags given; resolves once ready. */
export async function startLimitsMta(name: string, nats: NatsServer, dir: string, limitFlags: readonly string[]): Promise<LimitsMta> {
  const [mxPort, submissionPort, opsPort] = [await freePort(), await freePort(), await freePort()];
  const argv = testMtaArgv({
    configDir: join(dir, 'config'),
    secretDir: join(dir, 'secret'),
    nats: nats.url,
    instance: name,
    listeners: ['mx', 'submission'],
    mxPort,
    submissionPort,
    opsPort,
    extra: ['--hostname', 'mx.example.test', '--no-delivery', '--no-inbound-checks', '--no-mta-sts-server', ...limitFlags],
  });
  const child = startProcess(name, process.execPath, argv, { logDir: dir });
  await waitFor(
    `${name} to be ready`,
    async () => {
      if (child.child.exitCode !== null) throw new Error(`${name} exited; see ${child.logFile}`);
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000 },
  );
  return { name, process: child, opsPort, mx: { host: '127.0.0.1', port: mxPort }, submission: { host: '127.0.0.1', port: submissionPort } };
}

const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

/** A submission session with one AUTH PLAIN attempt answered by `reply`, then `rest` (default: none). */
export const authAttempt = (user: string, password: string, reply: string, rest = '') => `
s: 220 *
c: EHLO laptop.example
s: 250 *
c: STARTTLS
s: 220 *
tls
c: EHLO laptop.example
s: 250 *
c: AUTH PLAIN ${plain(user, password)}
s: ${reply}
${rest}
c: QUIT
s: 221 *`;
