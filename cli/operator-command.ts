// `stafette operator`: runs the operator against a cluster (in-cluster config, or a
// kubeconfig such as the one `make cluster` writes).
import { Option, type Command } from 'commander';
import { jsonLogger, type LogLevel } from '../observability/logger.ts';
import { parseDefaultDelivery } from '../operator/src/render/default-delivery.ts';
import type { MtaStsServer } from '../operator/src/render/input.ts';
import type { DeliveryTargetPolicy } from '../bundle/delivery-targets.ts';
import { addDeliveryTargetOptions, deliveryTargetPolicyOf, type DeliveryTargetFlags } from './delivery-target-flags.ts';
import { parseDomainAllow, parseIssuerRule, type IssuerRule } from '../operator/src/render/ownership.ts';

interface OperatorFlags extends DeliveryTargetFlags {
  kubeconfig?: string;
  namespace: string[];
  allNamespaces?: boolean;
  bundleNamespace?: string;
  bundleName: string;
  bundleShards: string;
  leaseNamespace?: string;
  listen: string;
  dnsServer: string[];
  dkimPropagationDelay: string;
  logLevel: string;
  defaultDelivery: string;
  mtaStsServedBy: string;
  domainAllow: string[];
  domainChallenge: boolean;
  allowedIssuer: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerOperatorCommand(cli: Command): void {
  const command = cli
    .command('operator')
    .description(
      'Run the operator: reconcile MailDomain, Mailbox and Relay resources into DKIM keys, certificates, DNS records and the MTA configuration bundle.',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)')
    .option('-n, --namespace <ns>', "a namespace to watch (repeatable; default: the pod's or the kubeconfig context's namespace)", collect, [])
    .option('-A, --all-namespaces', 'watch every namespace (needs a ClusterRole)')
    .option('--bundle-namespace <ns>', 'where to write the bundle ConfigMap and Secrets (default: the first watched namespace)')
    .option('--bundle-name <name>', 'name of the bundle ConfigMap; Secrets are <name>-secrets-<i>', 'stafette-bundle')
    .option('--bundle-shards <n>', 'how many Secrets the secret part is split into (see README)', '4')
    .option('--lease-namespace <ns>', 'namespace of the leader-election Lease (default: the bundle namespace)')
    .option('--listen <host:port>', 'address of /healthz, /readyz and /metrics', '127.0.0.1:9091')
    .option('--dns-server <ip[:port]>', 'DNS server to confirm new DKIM records against (repeatable); none waits the propagation delay', collect, [])
    .option('--dkim-propagation-delay <seconds>', 'how long a new DKIM key waits before signing when DNS cannot confirm it', '600')
    .option(
      '--default-delivery <target>',
      "where Mailboxes without delivery deliver: local (the MTA's maildirs, single-host runs), lmtp://host[:port], or none (reported on the Mailbox, mail refused)",
      'local',
    )
    .option(
      '--domain-allow <namespace=patterns>',
      'domains a namespace may claim without a DNS challenge: namespace (or *) = comma-separated example.com, *.example.com or * (repeatable; none: every claim needs the challenge)',
      collect,
      [],
    )
    .option('--no-domain-challenge', 'do not accept a _stafette-challenge.<domain> TXT record as proof of a claim: only --domain-allow counts')
    .option(
      '--allowed-issuer <Kind/name[.group]>',
      'an issuer tls.issuerRef may name, e.g. ClusterIssuer/letsencrypt or Issuer/* (repeatable; none: tls.issuerRef is refused)',
      collect,
      [],
    )
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .addOption(
      new Option(
        '--mta-sts-served-by <who>',
        'who serves https://mta-sts.<domain>/: the MTA (its certificate must name mta-sts.<domain>), an Ingress, or none (no MTA-STS records)',
      )
        .choices(['mta', 'ingress', 'none'])
        .default('mta'),
    );
  addDeliveryTargetOptions(command).action(async (flags: OperatorFlags) => {
    // Loaded here, not at the top: every `stafette mta` process would otherwise carry the
    // Kubernetes client (~20 MiB of heap and code) it never uses (issue 15).
    const { KubeConfig } = await import('@kubernetes/client-node');
    const { startOperator } = await import('../operator/src/operator.ts');
    const logger = jsonLogger({ level: flags.logLevel as LogLevel, base: { component: 'operator' } });
    let defaultDelivery: ReturnType<typeof parseDefaultDelivery>;
    let deliveryTargets: DeliveryTargetPolicy;
    let allow: ReturnType<typeof parseDomainAllow>;
    let allowedIssuers: IssuerRule[];
    try {
      defaultDelivery = parseDefaultDelivery(flags.defaultDelivery);
      deliveryTargets = deliveryTargetPolicyOf(flags);
      allow = parseDomainAllow(flags.domainAllow);
      allowedIssuers = flags.allowedIssuer.map(parseIssuerRule);
    } catch (err) {
      logger.error('invalid options', { err: (err as Error).message });
      process.exitCode = 1;
      return;
    }
    const kc = new KubeConfig();
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
    const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
    const namespaces = flags.allNamespaces ? null : flags.namespace.length > 0 ? flags.namespace : [process.env.POD_NAMESPACE ?? contextNamespace ?? 'default'];
    const bundleNamespace = flags.bundleNamespace ?? namespaces?.[0] ?? process.env.POD_NAMESPACE ?? 'default';
    const [host, port] = splitHostPort(flags.listen);
    const operator = await startOperator({
      kubeConfig: kc,
      namespaces,
      bundle: { namespace: bundleNamespace, name: flags.bundleName, shards: Number(flags.bundleShards) },
      leaseNamespace: flags.leaseNamespace ?? bundleNamespace,
      logger,
      health: { host, port },
      dnsServers: flags.dnsServer,
      propagationDelayMs: Number(flags.dkimPropagationDelay) * 1000,
      defaultDelivery,
      deliveryTargets,
      mtaStsServedBy: flags.mtaStsServedBy as MtaStsServer,
      domainOwnership: { allow, dnsChallenge: flags.domainChallenge },
      allowedIssuers,
    });
    logger.info('operator started', {
      namespaces: namespaces ?? 'all',
      bundle: `${bundleNamespace}/${flags.bundleName}`,
      listen: `${host}:${operator.healthPort()}`,
    });
    const stop = async (signal: string) => {
      logger.info('stopping', { signal });
      await operator.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

function splitHostPort(value: string): [string, number] {
  const at = value.lastIndexOf(':');
  return [value.slice(0, at).replace(/^\[|\]$/g, '') || '0.0.0.0', Number(value.slice(at + 1))];
}
