// The NATS server options `stafette mta` and `stafette queue` share. Credentials come only
// from the environment (a Secret mounted as env), never from flags, which `ps` shows. The MTA
// may hold one credential per role (intake, delivery; docs/trust-model.md "NATS roles and
// TLS"); the CLI uses the shared one, which in a cluster is the admin user.
import { Option, type Command } from 'commander';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsTlsOptions, type NatsCredentials, type NatsTls } from '../mta/src/queue/connection.ts';
import { roleInboxPrefix } from '../mta/src/queue/nats-roles.ts';

export interface NatsFlags {
  nats: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
}

export function addNatsOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--nats <urls>', 'NATS server URLs, comma-separated (every node of the cluster)').env('STAFETTE_NATS_URL').default('nats://127.0.0.1:4222'),
    )
    .addOption(new Option('--nats-ca <file>', 'connect to NATS over TLS, trusting this CA (PEM)').env('STAFETTE_NATS_CA_FILE'))
    .addOption(new Option('--nats-cert <file>', 'client certificate (PEM) for NATS servers that verify clients; implies TLS').env('STAFETTE_NATS_CERT_FILE'))
    .addOption(new Option('--nats-key <file>', 'key (PEM) of --nats-cert').env('STAFETTE_NATS_KEY_FILE'));
}

export interface NatsServerOptions extends NatsCredentials {
  servers: string[];
  tls?: NatsTls;
  /** The MTA's intake connection, when it has its own user (else the shared credential). */
  intake?: NatsCredentials;
  /** The MTA's delivery connection, when it has its own user. */
  delivery?: NatsCredentials;
}

/** Servers, TLS and credentials for queueConnectOptions() or connect(). */
export function natsServerOptions(flags: NatsFlags, env: NodeJS.ProcessEnv = process.env): NatsServerOptions {
  const servers = flags.nats
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (Boolean(flags.natsCert) !== Boolean(flags.natsKey)) throw new Error('--nats-cert and --nats-key go together');
  const tls: NatsTls | null =
    flags.natsCa || flags.natsCert || /^tls:\/\//.test(flags.nats)
      ? {
          ...(flags.natsCa ? { caFile: flags.natsCa } : {}),
          ...(flags.natsCert ? { certFile: flags.natsCert } : {}),
          ...(flags.natsKey ? { keyFile: flags.natsKey } : {}),
        }
      : null;
  const role = (name: 'INTAKE' | 'DELIVERY'): NatsCredentials | null => {
    const user = env[`STAFETTE_NATS_${name}_USER`];
    return user ? { user, pass: env[`STAFETTE_NATS_${name}_PASSWORD`] ?? '' } : null;
  };
  const intake = role('INTAKE');
  const delivery = role('DELIVERY');
  return {
    servers,
    ...(env.STAFETTE_NATS_USER ? { user: env.STAFETTE_NATS_USER, pass: env.STAFETTE_NATS_PASSWORD ?? '' } : {}),
    ...(env.STAFETTE_NATS_TOKEN ? { token: env.STAFETTE_NATS_TOKEN } : {}),
    ...(tls ? { tls } : {}),
    ...(intake ? { intake } : {}),
    ...(delivery ? { delivery } : {}),
  };
}

/** Help text for the credential variables, appended to a command's --help. */
export const natsEnvHelp = `
Environment:
  STAFETTE_NATS_URL                          same as --nats
  STAFETTE_NATS_USER, STAFETTE_NATS_PASSWORD NATS user and password (for the queue CLI: the admin user)
  STAFETTE_NATS_TOKEN                        NATS token
  STAFETTE_NATS_INTAKE_USER, STAFETTE_NATS_INTAKE_PASSWORD
                                             stafette mta: the intake connection's own user
  STAFETTE_NATS_DELIVERY_USER, STAFETTE_NATS_DELIVERY_PASSWORD
                                             stafette mta: the delivery connection's own user
  STAFETTE_NATS_CA_FILE, STAFETTE_NATS_CERT_FILE, STAFETTE_NATS_KEY_FILE
                                             same as --nats-ca, --nats-cert, --nats-key`;

/** Reports a command's failure in one sentence and sets exit code 1. */
export function failCommand(message: string): void {
  console.error(`error: ${message}`);
  process.exitCode = 1;
}

/**
 * Runs a CLI command's `work` on a NATS connection that fails fast (no reconnects) and is
 * always closed; a failure becomes "<failurePrefix>: <reason>" and exit code 1.
 */
export async function withCliConnection(flags: NatsFlags, failurePrefix: string, work: (nc: NatsConnection) => Promise<void>): Promise<void> {
  let nc: NatsConnection;
  try {
    const { servers, user, pass, token, tls } = natsServerOptions(flags);
    nc = await connect({
      servers,
      ...(user !== undefined ? { user, pass } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(tls ? { tls: natsTlsOptions(tls) } : {}),
      inboxPrefix: roleInboxPrefix('admin'),
      name: 'stafette-cli',
      timeout: 5_000,
      maxReconnectAttempts: 0,
    });
  } catch (err) {
    return failCommand(`cannot connect to NATS at ${flags.nats}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    await work(nc);
  } catch (err) {
    failCommand(`${failurePrefix}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await nc.close();
  }
}
