// Part of the MTA's composition (main.ts): the connect options of the intake and the delivery
// connection, their own NATS users when both are configured, else one shared connection
// (docs/trust-model.md "NATS roles and TLS").
import { queueConnectOptions, type NatsCredentials, type NatsTls } from './queue/index.ts';
import { roleInboxPrefix } from './queue/nats-roles.ts';
import { MtaStartError } from './start-error.ts';

export interface MtaNatsOptions extends NatsCredentials {
  readonly servers: string[];
  readonly tls?: NatsTls;
  readonly intake?: NatsCredentials;
  readonly delivery?: NatsCredentials;
}

type ConnectOptions = Parameters<typeof queueConnectOptions>[0];

export function roleConnections(options: { readonly nats: MtaNatsOptions; readonly instance: string }): {
  separate: boolean;
  intake: ConnectOptions;
  delivery: ConnectOptions;
} {
  const { servers, tls, intake, delivery, user, pass, token } = options.nats;
  const shared: NatsCredentials = { ...(user !== undefined ? { user, pass } : {}), ...(token !== undefined ? { token } : {}) };
  const base = { servers, ...(tls ? { tls } : {}) };
  const name = `stafette-mta/${options.instance}`;
  if (!intake && !delivery) return { separate: false, intake: { ...base, ...shared, name }, delivery: { ...base, ...shared, name } };
  if (!intake || !delivery) throw new MtaStartError('NATS role users come in pairs: set both the intake and the delivery user, or neither');
  return {
    separate: true,
    intake: { ...base, ...intake, name: `${name}/intake`, inboxPrefix: roleInboxPrefix('intake') },
    delivery: { ...base, ...delivery, name: `${name}/delivery`, inboxPrefix: roleInboxPrefix('delivery') },
  };
}
