// `stafette nats-config`: the nats-server `authorization` block for Stafette's three NATS
// users (intake, delivery, the queue CLI's admin), rendered by mta/src/queue/nats-roles.ts,
// the one place their permissions are derived. `--format conf` is for a nats-server.conf
// (make run, the tests), `--format helm` for the official NATS chart's values
// (helm/nats-values.yaml shows the result). Passwords are never printed from flags: by
// default each is an environment variable of the nats-server process (`$NAME`).
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { authorizationObject, defaultRoleUser, natsRoles, queueNames, renderAuthorization, type NatsRole, type RoleUser } from '../mta/src/queue/nats-roles.ts';
import { queueSettings } from '../mta/src/queue/settings.ts';

/** The nats-server environment variable holding each role's password. */
export const rolePasswordEnv: Record<NatsRole, string> = {
  intake: 'STAFETTE_NATS_INTAKE_PASSWORD',
  delivery: 'STAFETTE_NATS_DELIVERY_PASSWORD',
  admin: 'STAFETTE_NATS_ADMIN_PASSWORD',
};

export function roleUsers(): Record<NatsRole, RoleUser> {
  return Object.fromEntries(natsRoles.map((role) => [role, { user: defaultRoleUser(role), password: { env: rolePasswordEnv[role] } }])) as Record<
    NatsRole,
    RoleUser
  >;
}

/** The values fragment for the official NATS chart: `config.merge.authorization` (helm/nats-values.yaml carries it). */
export function helmAuthorizationValues(): string {
  return stringify({ config: { merge: { authorization: authorizationObject(roleUsers(), queueNames(queueSettings())) } } }, { lineWidth: 0 });
}

export function registerNatsConfigCommand(cli: Command, print: (text: string) => void = (text) => process.stdout.write(text)): void {
  cli
    .command('nats-config')
    .description(
      "Print the NATS authorization for Stafette's users stafette-intake, stafette-delivery and stafette-admin, each with " +
        'the narrowest permissions that work; passwords are the nats-server environment variables ' +
        `${Object.values(rolePasswordEnv).join(', ')}.`,
    )
    .addOption(
      new Option('--format <format>', 'conf: a nats-server.conf block; helm: values for the official NATS chart').choices(['conf', 'helm']).default('conf'),
    )
    .action((flags: { format: 'conf' | 'helm' }) => {
      print(flags.format === 'conf' ? renderAuthorization(roleUsers(), queueNames(queueSettings())) : helmAuthorizationValues());
    });
}
