// `stafette mta` flags of the process itself: our name, the platform certificate, the DNS
// servers, the operations endpoint, the shutdown grace and how often the bundle is re-read.
import { Option, type Command } from 'commander';
import { defaultRecheckMs } from '../../mta/src/config/watch-bundle.ts';
import { defaultOpsHost, defaultOpsPort } from '../../observability/ops-server.ts';
import { integer } from './flag-parsers.ts';

export interface ProcessFlags {
  hostname?: string;
  tlsCert?: string;
  tlsKey?: string;
  dns?: string;
  opsHost: string;
  opsPort: number;
  shutdownTimeout: number;
  configRecheck: number;
}

export function addProcessOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--hostname <name>', "our name in the greeting, EHLO, Received and bounces (default: the first domain's hostname, else the machine's)").env(
        'STAFETTE_HOSTNAME',
      ),
    )
    .addOption(
      new Option(
        '--tls-cert <file>',
        "the platform's PEM certificate, for clients without SNI or with a name no domain has (default: the certificate of the domain whose hostname is ours, else self-signed)",
      ).env('STAFETTE_TLS_CERT'),
    )
    .addOption(new Option('--tls-key <file>', 'PEM key for --tls-cert').env('STAFETTE_TLS_KEY'))
    .addOption(
      new Option('--dns <servers>', "DNS servers for every lookup (MX hosts, relays, reverse DNS), comma-separated ip or ip:port (default: the system's)").env(
        'STAFETTE_DNS_SERVERS',
      ),
    )
    .addOption(new Option('--ops-host <address>', 'bind address of /healthz, /readyz and /metrics').env('STAFETTE_OPS_HOST').default(defaultOpsHost))
    .addOption(new Option('--ops-port <port>', 'port of /healthz, /readyz and /metrics').env('STAFETTE_OPS_PORT').argParser(integer(0)).default(defaultOpsPort))
    .addOption(
      new Option(
        '--shutdown-timeout <seconds>',
        'after SIGTERM, how long sessions in flight may take before they get 421; keep terminationGracePeriodSeconds above preStop + this',
      )
        .env('STAFETTE_SHUTDOWN_TIMEOUT')
        .argParser(integer(0))
        .default(25),
    )
    .addOption(
      new Option('--config-recheck <seconds>', 're-read the bundle this often, besides watching its directory')
        .env('STAFETTE_CONFIG_RECHECK')
        .argParser(integer(1))
        .default(defaultRecheckMs / 1000),
    );
}
