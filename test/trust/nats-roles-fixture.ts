// A real nats-server whose `authorization` block is the one mta/src/queue/nats-roles.ts
// renders (through `stafette nats-config`'s roleUsers, passwords in the server's environment),
// and a real `stafette mta` process that connects with the intake and delivery users, for the
// trust tests of docs/trust-model.md "NATS roles and TLS".
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Bundle, BundleSecrets } from '../../bundle/schema.ts';
import { rolePasswordEnv, roleUsers } from '../../cli/nats-config-command.ts';
import { bundleFiles, minimalBundle, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { natsTlsOptions, type NatsTls } from '../../mta/src/queue/connection.ts';
import { defaultRoleUser, natsRoles, queueNames, renderAuthorization, roleInboxPrefix, type NatsRole } from '../../mta/src/queue/nats-roles.ts';
import { queueSettings } from '../../mta/src/queue/settings.ts';
import { testMtaArgv } from '../harness/mta-argv.ts';
import { startNatsServer, type NatsServer, type NatsServerOptions } from '../harness/nats-server.ts';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../harness/process.ts';

export interface RoleNats {
  readonly server: NatsServer;
  readonly passwords: Record<NatsRole, string>;
  /** The environment `stafette mta` needs for its two role users. */
  readonly mtaEnv: Record<string, string>;
  /** A connection as one role, with that role's inbox prefix. */
  connectAs(role: NatsRole, opts?: { inboxPrefix?: string }): Promise<NatsConnection>;
  /** Lines of the server log that report a permissions violation ("Publish Violation", "Subscription Violation"). */
  violations(): string[];
}

export async function startRoleNats(opts: { name: string; tls?: NatsServerOptions['tls']; clientTls?: NatsTls }): Promise<RoleNats> {
  // A letter, then hex: nats-server parses the $VARIABLE as a config value (docs/trust-model.md §5),
  // so a password starting with '-' or a digit and a dot would keep it from starting.
  const passwords = Object.fromEntries(natsRoles.map((r) => [r, `p${randomBytes(18).toString('hex')}`])) as Record<NatsRole, string>;
  const env = Object.fromEntries(natsRoles.map((r) => [rolePasswordEnv[r], passwords[r]]));
  const server = await startNatsServer({
    name: opts.name,
    extraConfig: renderAuthorization(roleUsers(), queueNames(queueSettings())),
    env,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  const tls = opts.clientTls ? { tls: natsTlsOptions(opts.clientTls) } : {};
  return {
    server,
    passwords,
    mtaEnv: {
      STAFETTE_NATS_INTAKE_USER: defaultRoleUser('intake'),
      STAFETTE_NATS_INTAKE_PASSWORD: passwords.intake,
      STAFETTE_NATS_DELIVERY_USER: defaultRoleUser('delivery'),
      STAFETTE_NATS_DELIVERY_PASSWORD: passwords.delivery,
    },
    async connectAs(role, o = {}) {
      return await connect({
        servers: server.url,
        user: defaultRoleUser(role),
        pass: passwords[role],
        inboxPrefix: o.inboxPrefix ?? roleInboxPrefix(role),
        maxReconnectAttempts: 0,
        name: `trust-test-${role}`,
        ...tls,
      });
    },
    violations() {
      return readFileSync(join(server.dir, `${server.name}.log`), 'utf8')
        .split('\n')
        .filter((l) => / Violation /.test(l));
    },
  };
}

export interface RoleMta {
  readonly mta: ManagedProcess;
  readonly mx: { host: string; port: number };
  readonly maildirRoot: string;
  readonly opsPort: number;
  close(): Promise<void>;
}

/** `stafette mta` with delivery to maildirs, connecting with the role users (and TLS flags when given); `bundle` replaces the minimal one. */
export async function startRoleMta(
  nats: RoleNats,
  opts: { name: string; addresses: string[]; domain: string; extraArgs?: string[]; bundle?: { bundle: Bundle; secrets: BundleSecrets } },
): Promise<RoleMta> {
  const dir = mkdtempSync(join(tmpdir(), `stafette-${opts.name}-`));
  const configDir = join(dir, 'config');
  const files = bundleFiles(opts.bundle ?? minimalBundle('r1', opts.addresses, opts.domain));
  writeMountedFiles(configDir, files.config);
  const secretDir = join(dir, 'secret');
  writeMountedFiles(secretDir, files.secrets);
  const maildirRoot = join(dir, 'mail');
  const mxPort = await freePort();
  const opsPort = await freePort();
  const mta = startProcess(
    `mta-${opts.name}`,
    process.execPath,
    testMtaArgv({
      configDir,
      secretDir,
      nats: nats.server.url,
      instance: opts.name,
      mxPort,
      opsPort,
      extra: [
        ...['--local-maildir-root', maildirRoot, '--delivery-workers', '2', '--no-inbound-checks', '--no-mta-sts-server', '--shutdown-timeout', '5'],
        ...(opts.extraArgs ?? []),
      ],
    }),
    { logDir: dir, env: { ...process.env, ...nats.mtaEnv } },
  );
  const close = async () => {
    await mta.stop('SIGTERM', 20_000);
    if (!process.env.STAFETTE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the MTA to be ready',
      async () => {
        if (mta.child.exitCode !== null) throw new Error(`stafette mta exited; see ${mta.logFile}`);
        return (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    console.error(readFileSync(mta.logFile, 'utf8').slice(-3000));
    await close();
    throw err;
  }
  return { mta, mx: { host: '127.0.0.1', port: mxPort }, maildirRoot, opsPort, close };
}
