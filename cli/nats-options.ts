// The NATS server options `stafette mta` and `stafette queue` share. Credentials come only
// from the environment (a Secret mounted as env), never from flags, which `ps` shows.
import { Option, type Command } from 'commander';

export interface NatsFlags {
  nats: string;
}

export function addNatsOptions(command: Command): Command {
  return command.addOption(
    new Option('--nats <urls>', 'NATS server URLs, comma-separated (every node of the cluster)')
      .env('STAFETTE_NATS_URL')
      .default('nats://127.0.0.1:4222'),
  );
}

/** Servers and credentials for queueConnectOptions() or connect(). */
export function natsServerOptions(flags: NatsFlags, env: NodeJS.ProcessEnv = process.env): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const servers = flags.nats.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
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
