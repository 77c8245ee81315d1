// The NATS connection as the queue needs it: options that never give up reconnecting, and
// a watch that knows, synchronously, whether the connection is up right now.
//
// Why these options (docs/reliability.md §3 scenarios 15-16, §4 "Publisher"): nats.js by default
// gives up after 10 reconnect attempts 2 s apart and then closes the client for good, so a
// 30 s NATS outage would need a pod restart. With maxReconnectAttempts -1 the client keeps
// trying forever; readiness reports the outage meanwhile and intake answers 451.
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';

/** One NATS identity: user and password, or a token (docs/trust-model.md "NATS roles and TLS"). */
export interface NatsCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

/** TLS to NATS: the CA that signed the servers' certificates and, optionally, a client certificate. */
export interface NatsTls {
  /** PEM file of the CA to trust (default: the system's). */
  caFile?: string;
  /** PEM client certificate and key, for servers that verify clients (`verify: true`). */
  certFile?: string;
  keyFile?: string;
}

export interface QueueConnectionOptions extends NatsCredentials {
  /** nats://host:port URLs; every node of the cluster, the client learns the rest. */
  servers: string | string[];
  /** Shown in the server's monitoring (connz), e.g. "stafette-mta/<pod>". */
  name: string;
  /** When set, the connection requires TLS (docs/trust-model.md). */
  tls?: NatsTls;
  /** Prefix of reply subjects; each role has its own (queue/nats-roles.ts roleInboxPrefix). */
  inboxPrefix?: string;
}

/** Connect options for `connect()` from @nats-io/transport-node. */
export function queueConnectOptions(opts: QueueConnectionOptions): ConnectionOptions {
  const { tls, ...rest } = opts;
  return {
    ...rest,
    ...(tls ? { tls: natsTlsOptions(tls) } : {}),
    maxReconnectAttempts: -1, // reconnect forever; never close the client on an outage
    waitOnFirstConnect: true, // a pod started before NATS waits for it instead of crashing
    reconnectTimeWait: 1_000, // retry each second: a restarted node is back within seconds
    reconnectJitter: 500, // spread the reconnects of many pods
    // Detect a silent partition (no TCP reset) within ~10-15 s instead of the 2 min default.
    pingInterval: 5_000,
    maxPingOut: 2,
    timeout: 5_000,
    // nats.js otherwise makes an Error (a stack trace) on every request and publish in case it
    // times out: 2% of the MTA's CPU under `npm run bench` (issue 15). Errors still carry
    // their message and code, only not the caller's stack.
    noAsyncTraces: true,
  };
}

/** nats.js TLS options (transport-node reads the files); an empty object still requires TLS. */
export function natsTlsOptions(tls: NatsTls): NonNullable<ConnectionOptions['tls']> {
  return {
    ...(tls.caFile ? { caFile: tls.caFile } : {}),
    ...(tls.certFile ? { certFile: tls.certFile } : {}),
    ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
  };
}

export interface ConnectionWatch {
  /** True while the client has a live connection to a server. */
  readonly connected: boolean;
  /** Server-side reason of the last disconnect or error, for logs and readiness. */
  readonly lastProblem: string | null;
  /** Stops watching (the connection itself is the caller's to close). */
  stop(): void;
}

/** Follows the connection's status events; `connected` starts true for an open connection. */
export function watchConnection(nc: NatsConnection): ConnectionWatch {
  let connected = !nc.isClosed();
  let lastProblem: string | null = null;
  let stopped = false;
  const watch: ConnectionWatch = {
    get connected() {
      return connected && !nc.isClosed();
    },
    get lastProblem() {
      return lastProblem;
    },
    stop() {
      stopped = true;
    },
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) break;
      switch (s.type) {
        case 'disconnect':
          connected = false;
          lastProblem = `disconnected from ${s.server}`;
          break;
        case 'staleConnection':
          connected = false;
          lastProblem = 'server stopped answering pings';
          break;
        case 'reconnect':
          connected = true;
          break;
        case 'error':
          lastProblem = s.error.message;
          break;
        case 'close':
          connected = false;
          lastProblem = 'connection closed';
          break;
        default:
          break;
      }
    }
  })();
  void nc.closed().then(() => {
    connected = false;
  });
  return watch;
}
