// The NATS server options `stafette mta` and `stafette queue` share. Credentials come only
// from the environment (a Secret mounted as env), never from flags, which `ps` shows.
import { Option, type Command } from 'commander';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsFlags {
  nats: string;
}

export function addNatsOptions(command: Command): Command {
  return command.addOption(
    new Option('--nats <urls>', 'NATS server URLs, comma-separated (every node of the cluster)').env('STAFETTE_NATS_URL').default('nats://127.0.0.1:4222'),
  );
}

/** Servers and credentials for queueConnectOptions() or connect(). */
export function natsServerOptions(
  flags: NatsFlags,
  env: NodeJS.ProcessEnv = process.env,
): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const servers = flags.nats
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return {
    servers,
    ...(env.STAFETTE_NATS_USER ? { user: env.STAFETTE_NATS_USER, pass: env.STAFETTE_NATS_PASSWORD ?? '' } : {}),
    ...(env.STAFETTE_NATS_TOKEN ? { token: env.STAFETTE_NATS_TOKEN } : {}),
  };
}

/** Help text for the credential variables, appended to a command's --help. */
export const natsEnvHelp = `
Environment:
  STAFETTE_NATS_URL                          same as --nats
  STAFETTE_NATS_USER, STAFETTE_NATS_PASSWORD NATS user and password
  STAFETTE_NATS_TOKEN                        NATS token`;

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
    nc = await connect({ ...natsServerOptions(flags), name: 'stafette-cli', timeout: 5_000, maxReconnectAttempts: 0 });
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
