// `stafette mta`: run the MTA (SMTP intake into the JetStream queue, delivery) as a pod does.
// This file only turns flags into options for mta/src/main.ts, which composes the process.
// Flags have environment variables for the Deployment; signals: SIGTERM and SIGINT stop it in
// order, a second signal stops it at once.
import type { DeliveryTargetPolicy } from '../bundle/delivery-targets.ts';
import { addDeliveryTargetOptions, deliveryTargetPolicyOf, type DeliveryTargetFlags } from './delivery-target-flags.ts';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { startMta, type RunningMta } from '../mta/src/main.ts';
import { defaultRecheckMs } from '../mta/src/config/watch-bundle.ts';
import { defaultDeliveryWorkers, defaultMaxDeliveries } from '../mta/src/delivery/index.ts';
import { defaultMemoryBudgetBytes } from '../mta/src/smtp/memory-budget.ts';
import { defaultRetryPolicy, formatDuration, formatSchedule, parseDurationMs, parseSchedule } from '../mta/src/delivery/retry-policy.ts';
import { describeError } from '../mta/src/errors.ts';
import { defaultLookupBudgetMs } from '../mta/src/dns/lookup-budget.ts';
import { defaultDnsblTimeoutMs } from '../mta/src/spam/dnsbl.ts';
import { defaultMarkScore, defaultRejectScore, defaultSpamTimeoutMs, type SpamFilterOptions } from '../mta/src/spam/rspamd.ts';
import { defaultDelayNoticeMs } from '../mta/src/dsn/notices.ts';
import { defaultPolicyPort } from '../mta/src/mta-sts/policy-server.ts';
import { defaultQueueSettings } from '../mta/src/queue/settings.ts';
import { parseSealKeys } from '../mta/src/queue/record-seal.ts';
import { defaultListenerConfigs, listenerConfig, type ListenerConfig } from '../mta/src/smtp/index.ts';
import { defaultMxPort } from '../mta/src/transport/remote-smtp.ts';
import { jsonLogger, type LogLevel } from '../observability/logger.ts';
import { defaultOpsHost, defaultOpsPort } from '../observability/ops-server.ts';
import { addNatsOptions, natsEnvHelp, natsServerOptions, type NatsFlags } from './nats-options.ts';
import { addSharedLimitOptions, sharedLimitsFrom, type SharedLimitFlags } from './shared-limit-options.ts';

interface MtaFlags extends NatsFlags, DeliveryTargetFlags, SharedLimitFlags {
  configDir: string;
  secretDir?: string;
  instance: string;
  queueReplicas: number;
  queueMaxBytes: number;
  bodyMaxBytes: number;
  retryMaxBytes: number;
  ledgerMaxBytes: number;
  storeNearFullPercent: number;
  listeners: string;
  smtpHost: string;
  mxPort: number;
  submissionPort: number;
  submissionsPort: number;
  mxGreetingDelay: number;
  mxReverseDns: boolean;
  maxConnectionsPerIp?: number;
  sessionDeadline: number;
  minDataRate: number;
  maxFailedRecipients: number;
  maxErrorsPerSession: number;
  proxyFrom?: string;
  proxyListeners: string;
  memoryBudgetMib: number;
  hostname?: string;
  tlsCert?: string;
  tlsKey?: string;
  dns?: string;
  opsHost: string;
  opsPort: number;
  shutdownTimeout: number;
  configRecheck: number;
  logLevel: LogLevel;
  delivery: boolean;
  deliveryWorkers: number;
  maxDeliveries: number;
  localMaildirRoot: string;
  outboundPort: number;
  retrySchedule: string;
  messageLifetime: string;
  inboundChecks: boolean;
  inboundDnsBudget: number;
  dnsblZones: string;
  dnsblTimeout: number;
  rspamdUrl: string;
  rspamdRejectScore: string;
  rspamdMarkScore: number;
  rspamdTimeout: number;
  rspamdOnError: 'defer' | 'accept';
  mtaStsServer: boolean;
  mtaStsListen: string;
  tlsCaFile?: string;
  delayNoticeAfter: string;
  queueSealKeyFile?: string;
}

const listenerNames = Object.keys(defaultListenerConfigs) as (keyof typeof defaultListenerConfigs)[];
// Every default below is the library's (listener-config.ts, settings.ts, retry-policy.ts, ...),
// read here, never written again.
const mx = defaultListenerConfigs.mx;

export function registerMtaCommand(cli: Command): void {
  const command = cli
    .command('mta')
    .description(
      'Run the MTA: SMTP listeners (mx, submission, submissions) that answer 250 only after NATS JetStream stored the ' +
        'message, delivery workers sharing the queue with every other MTA process (local mailboxes, relays, MX hosts; ' +
        'retries and bounces), /healthz /readyz /metrics on the operations port, and the configuration bundle reloaded ' +
        'from its mounted directory when it changes (a broken bundle is refused and the last good one kept).',
    )
    .addOption(
      new Option('--config-dir <dir>', 'directory with bundle.json.gz or bundle.json (the mounted ConfigMap)').env('STAFETTE_CONFIG_DIR').makeOptionMandatory(),
    )
    .addOption(
      new Option('--secret-dir <dir>', 'directory with the secret part: secrets-<i>-of-<n>.json.gz or secrets.json (default: --config-dir)').env(
        'STAFETTE_SECRET_DIR',
      ),
    );
  addNatsOptions(addSharedLimitOptions(command))
    .addOption(new Option('--instance <name>', "this pod's name, shown in NATS monitoring").env('POD_NAME').default(hostname()))
    .addOption(
      new Option('--queue-replicas <n>', 'JetStream replicas of the queue: 1 on a single server, 3 in a cluster')
        .env('STAFETTE_QUEUE_REPLICAS')
        .argParser(integer(1))
        .default(defaultQueueSettings.replicas),
    )
    .addOption(
      new Option('--queue-max-bytes <bytes>', 'queue size cap (~70% of the NATS volume); beyond it intake answers 452; -1 = none')
        .env('STAFETTE_QUEUE_MAX_BYTES')
        .argParser(integer(-1))
        .default(defaultQueueSettings.maxBytes),
    )
    .addOption(
      new Option('--body-max-bytes <bytes>', 'cap of the body bucket (large bodies in the Object Store); -1 = none')
        .env('STAFETTE_BODY_MAX_BYTES')
        .argParser(integer(-1))
        .default(defaultQueueSettings.bodyMaxBytes),
    )
    .addOption(
      new Option('--retry-max-bytes <bytes>', 'budget of the retry stream (mail waiting for a retry); near it intake answers 452; -1 = none')
        .env('STAFETTE_RETRY_MAX_BYTES')
        .argParser(integer(-1))
        .default(defaultQueueSettings.retryMaxBytes),
    )
    .addOption(
      new Option('--ledger-max-bytes <bytes>', 'cap of the delivered-recipient ledger stream; -1 = none')
        .env('STAFETTE_LEDGER_MAX_BYTES')
        .argParser(integer(-1))
        .default(defaultQueueSettings.ledgerMaxBytes),
    )
    .addOption(
      new Option('--store-near-full-percent <percent>', 'at this share of any stream cap intake answers 452 4.3.1 to new mail')
        .env('STAFETTE_STORE_NEAR_FULL_PERCENT')
        .argParser(integer(1))
        .default(defaultQueueSettings.nearFullRatio * 100),
    )
    .addOption(
      new Option('--listeners <names>', `SMTP listeners to open, comma-separated: ${listenerNames.join(', ')}`)
        .env('STAFETTE_LISTENERS')
        .default(listenerNames.join(',')),
    )
    .addOption(new Option('--smtp-host <address>', 'bind address of the SMTP listeners').env('STAFETTE_SMTP_HOST').default(mx.host))
    .addOption(
      new Option('--mx-port <port>', 'port of the mx listener (the Service maps 25 to it)').env('STAFETTE_MX_PORT').argParser(integer(0)).default(mx.port),
    )
    .addOption(
      new Option('--submission-port <port>', 'port of the submission listener (587 in the Service)')
        .env('STAFETTE_SUBMISSION_PORT')
        .argParser(integer(0))
        .default(defaultListenerConfigs.submission.port),
    )
    .addOption(
      new Option('--submissions-port <port>', 'port of the implicit-TLS submissions listener (465 in the Service)')
        .env('STAFETTE_SUBMISSIONS_PORT')
        .argParser(integer(0))
        .default(defaultListenerConfigs.submissions.port),
    )
    .addOption(
      new Option('--mx-greeting-delay <ms>', 'pause before the mx greeting; a client talking during it gets 421 (0 for trusted, in-cluster senders)')
        .env('STAFETTE_MX_GREETING_DELAY_MS')
        .argParser(integer(0))
        .default(mx.greetingDelayMs),
    )
    .addOption(new Option('--no-mx-reverse-dns', "do not look up the client's reverse DNS name on mx (shown in Received)"))
    .addOption(
      new Option('--max-connections-per-ip <n>', `connections one client address may hold open per listener; more get 421 (default: ${mx.maxConnectionsPerIp})`)
        .env('STAFETTE_MAX_CONNECTIONS_PER_IP')
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--session-deadline <seconds>', 'wall-clock limit of one SMTP session; then 421 4.4.2 (slowloris)')
        .env('STAFETTE_SESSION_DEADLINE_SECONDS')
        .argParser(integer(1))
        .default(mx.session.deadlineMs / 1000),
    )
    .addOption(
      new Option('--min-data-rate <bytes-per-second>', `DATA slower than this over any ${mx.session.dataRateWindowMs / 1000} s gets 421 4.4.2; 0 for none`)
        .env('STAFETTE_MIN_DATA_RATE')
        .argParser(integer(0))
        .default(mx.session.minDataRate),
    )
    .addOption(
      new Option('--max-failed-recipients <n>', 'refused RCPTs per session; the next gets 421 4.7.0 (directory harvesting)')
        .env('STAFETTE_MAX_FAILED_RECIPIENTS')
        .argParser(integer(1))
        .default(mx.session.maxFailedRecipients),
    )
    .addOption(
      new Option('--max-errors-per-session <n>', 'error replies per session; the next is 421 4.7.0')
        .env('STAFETTE_MAX_ERRORS_PER_SESSION')
        .argParser(integer(1))
        .default(mx.session.maxErrors),
    )
    .addOption(
      new Option('--proxy-from <ranges>', 'comma-separated CIDR ranges (load balancers) whose connections start with a PROXY v1/v2 header').env(
        'STAFETTE_PROXY_FROM',
      ),
    )
    .addOption(
      new Option('--proxy-listeners <names>', 'listeners that take PROXY headers from --proxy-from')
        .env('STAFETTE_PROXY_LISTENERS')
        .default(listenerNames.join(',')),
    )
    .addOption(
      new Option('--memory-budget-mib <MiB>', 'message data intake may hold in memory at once; beyond it 451 4.3.2')
        .env('STAFETTE_MEMORY_BUDGET_MIB')
        .argParser(integer(1))
        .default(defaultMemoryBudgetBytes / 1024 / 1024),
    )
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
    )
    .addOption(new Option('--no-delivery', 'only receive: run no delivery workers in this process'))
    .addOption(
      new Option('--delivery-workers <n>', 'delivery workers for fresh mail in this process (retries get half as many); each mostly waits on the network')
        .env('STAFETTE_DELIVERY_WORKERS')
        .argParser(integer(1))
        .default(defaultDeliveryWorkers),
    )
    .addOption(
      new Option('--max-deliveries <n>', 'deliveries of one job before it is quarantined instead of attempted (`stafette queue quarantine`)')
        .env('STAFETTE_MAX_DELIVERIES')
        .argParser(integer(1))
        .default(defaultMaxDeliveries),
    )
    .addOption(
      new Option('--local-maildir-root <dir>', 'where mailboxes with the default delivery get a maildir, <dir>/<address>/')
        .env('STAFETTE_LOCAL_MAILDIR_ROOT')
        .default('/var/lib/stafette/mail'),
    )
    .addOption(
      new Option('--outbound-port <port>', 'TCP port of remote MX hosts (another only for tests)')
        .env('STAFETTE_OUTBOUND_PORT')
        .argParser(integer(1))
        .default(defaultMxPort),
    )
    .addOption(
      new Option('--retry-schedule <delays>', 'delays between delivery attempts, comma-separated (the last repeats)')
        .env('STAFETTE_RETRY_SCHEDULE')
        .default(formatSchedule(defaultRetryPolicy.delaysMs)),
    )
    .addOption(
      new Option('--message-lifetime <duration>', 'how long a message may wait for delivery before it bounces')
        .env('STAFETTE_MESSAGE_LIFETIME')
        .default(formatDuration(defaultRetryPolicy.lifetimeMs)),
    )
    .addOption(new Option('--no-inbound-checks', 'do not check SPF, DKIM, ARC and DMARC on the mx listener (and add no Authentication-Results)'))
    .addOption(
      new Option('--inbound-dns-budget <ms>', "DNS time one message's checks may use in total; past it lookups are temperror")
        .env('STAFETTE_INBOUND_DNS_BUDGET_MS')
        .argParser(integer(100))
        .default(defaultLookupBudgetMs),
    )
    .addOption(
      new Option('--dnsbl-zones <zones>', 'DNS blocklist zones (comma-separated) asked for each mx client address; a listed client gets 554 5.7.1')
        .env('STAFETTE_DNSBL_ZONES')
        .default(''),
    )
    .addOption(
      new Option('--dnsbl-timeout <ms>', 'the most an mx session waits for the blocklists; past it the client counts as not listed')
        .env('STAFETTE_DNSBL_TIMEOUT_MS')
        .argParser(integer(100))
        .default(defaultDnsblTimeoutMs),
    )
    .addOption(
      new Option('--rspamd-url <url>', "rspamd's normal worker (e.g. http://rspamd:11333), asked about each mx message after DATA; empty: not asked")
        .env('STAFETTE_RSPAMD_URL')
        .default(''),
    )
    .addOption(
      new Option('--rspamd-reject-score <score>', 'refuse mx messages scoring at least this (550 5.7.1); "off": only mark them')
        .env('STAFETTE_RSPAMD_REJECT_SCORE')
        .default(String(defaultRejectScore)),
    )
    .addOption(
      new Option('--rspamd-mark-score <score>', 'mark mx messages scoring at least this X-Spam-Status: Yes')
        .env('STAFETTE_RSPAMD_MARK_SCORE')
        .argParser(score)
        .default(defaultMarkScore),
    )
    .addOption(
      new Option('--rspamd-timeout <ms>', 'the most one rspamd check may take; past it --rspamd-on-error applies')
        .env('STAFETTE_RSPAMD_TIMEOUT_MS')
        .argParser(integer(100))
        .default(defaultSpamTimeoutMs),
    )
    .addOption(
      new Option('--rspamd-on-error <action>', 'when rspamd does not answer: defer (451 4.7.1) or accept the message unmarked')
        .choices(['defer', 'accept'])
        .env('STAFETTE_RSPAMD_ON_ERROR')
        .default('defer'),
    )
    .addOption(new Option('--no-mta-sts-server', "do not serve the domains' MTA-STS policies over HTTPS"))
    .addOption(
      new Option('--mta-sts-listen <host:port>', 'where https://mta-sts.<domain>/.well-known/mta-sts.txt is served (the Service maps 443 to it)')
        .env('STAFETTE_MTA_STS_LISTEN')
        .default(`0.0.0.0:${defaultPolicyPort}`),
    )
    .addOption(
      new Option('--tls-ca-file <file>', "extra trusted CA certificates (PEM) besides the system's, for MX hosts under MTA-STS, relays and policy hosts").env(
        'STAFETTE_TLS_CA_FILE',
      ),
    )
    .addOption(
      new Option('--delay-notice-after <duration>', 'send a delay notice (RFC 3461) for mail still undelivered after this long; "off" for none')
        .env('STAFETTE_DELAY_NOTICE_AFTER')
        .default(formatDuration(defaultDelayNoticeMs)),
    )
    .addOption(
      new Option(
        '--queue-seal-key-file <file>',
        'keys of the queue seal, one per line (the first seals, all verify), the same in every MTA pod (default: a random key of this process only)',
      ).env('STAFETTE_QUEUE_SEAL_KEY_FILE'),
    )
    .addOption(
      new Option('--log-level <level>', 'least severe log level written').choices(['debug', 'info', 'warn', 'error']).env('STAFETTE_LOG_LEVEL').default('info'),
    )
    .addHelpText('after', `${natsEnvHelp}\n\nLogs are JSON lines on stdout. Exit status: 0 after an orderly stop, 1 when start-up fails.`);
  addDeliveryTargetOptions(command).action(async (flags: MtaFlags) => {
    process.exitCode = await runMta(flags);
  });
}

async function runMta(flags: MtaFlags): Promise<number> {
  const logger = jsonLogger({ level: flags.logLevel, base: { instance: flags.instance } });
  let listeners: ListenerConfig[];
  let policy: { delaysMs: number[]; lifetimeMs: number };
  let delayNoticeAfterMs: number | null;
  let policyServer: { host: string; port: number } | null;
  let rspamd: SpamFilterOptions | null;
  let queueSealKeys: Buffer[] | undefined;
  let targets: DeliveryTargetPolicy;
  try {
    queueSealKeys = flags.queueSealKeyFile ? parseSealKeys(readFileSync(flags.queueSealKeyFile, 'utf8')) : undefined;
    targets = deliveryTargetPolicyOf(flags);
    listeners = selectListeners(flags);
    policy = { delaysMs: parseSchedule(flags.retrySchedule), lifetimeMs: parseDurationMs(flags.messageLifetime) };
    delayNoticeAfterMs = flags.delayNoticeAfter === 'off' ? null : parseDurationMs(flags.delayNoticeAfter);
    policyServer = flags.mtaStsServer ? hostPort(flags.mtaStsListen) : null;
    rspamd = flags.rspamdUrl
      ? {
          url: new URL(flags.rspamdUrl).href,
          rejectScore: flags.rspamdRejectScore === 'off' ? null : score(flags.rspamdRejectScore),
          markScore: flags.rspamdMarkScore,
          timeoutMs: flags.rspamdTimeout,
          onError: flags.rspamdOnError,
        }
      : null;
  } catch (err) {
    logger.error('invalid options', { err });
    return 1;
  }
  const defaultTls = flags.tlsCert && flags.tlsKey ? { certPem: readFileSync(flags.tlsCert, 'utf8'), keyPem: readFileSync(flags.tlsKey, 'utf8') } : null;

  let mta: RunningMta;
  try {
    mta = await startMta({
      configDir: flags.configDir,
      secretDir: flags.secretDir,
      nats: natsServerOptions(flags),
      instance: flags.instance,
      queue: {
        replicas: flags.queueReplicas,
        maxBytes: flags.queueMaxBytes,
        bodyMaxBytes: flags.bodyMaxBytes,
        retryMaxBytes: flags.retryMaxBytes,
        ledgerMaxBytes: flags.ledgerMaxBytes,
        nearFullRatio: flags.storeNearFullPercent / 100,
      },
      ops: { host: flags.opsHost, port: flags.opsPort },
      shutdownTimeoutMs: flags.shutdownTimeout * 1000,
      configRecheckMs: flags.configRecheck * 1000,
      listeners,
      memoryBudgetBytes: flags.memoryBudgetMib * 1024 * 1024,
      ...(flags.hostname ? { hostname: flags.hostname } : {}),
      defaultTls,
      sharedLimits: sharedLimitsFrom(flags),
      dnsServers: flags.dns ? flags.dns.split(',').map((s) => s.trim()) : [],
      standards: {
        inboundChecks: flags.inboundChecks,
        dnsBudgetMs: flags.inboundDnsBudget,
        policyServer,
        ...(flags.tlsCaFile ? { extraCaPem: readFileSync(flags.tlsCaFile, 'utf8') } : {}),
        delayNoticeAfterMs,
      },
      spam: {
        dnsblZones: flags.dnsblZones
          .split(',')
          .map((z) => z.trim())
          .filter((z) => z !== ''),
        dnsblTimeoutMs: flags.dnsblTimeout,
        rspamd,
      },
      delivery: flags.delivery
        ? {
            workers: flags.deliveryWorkers,
            maxDeliveries: flags.maxDeliveries,
            localMaildirRoot: flags.localMaildirRoot,
            targets,
            mxPort: flags.outboundPort,
            retryPolicy: policy,
          }
        : null,
      ...(queueSealKeys ? { queueSealKeys } : {}),
      logger,
    });
  } catch (err) {
    logger.error('the MTA could not start', { err: describeError(err) });
    return 1;
  }

  return await new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.once('SIGTERM', () => forceExit(signal));
      process.once('SIGINT', () => forceExit(signal));
      mta.shutdown(signal).then(
        () => resolve(0),
        (err: unknown) => {
          logger.error('shutdown failed', { err });
          resolve(1);
        },
      );
    };
    const forceExit = (first: NodeJS.Signals) => {
      logger.warn('second signal during shutdown: exiting now', { first });
      process.exit(1);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  }).then((code) => {
    // Open handles (smtp-server sockets being torn down, timers) must not keep a stopped pod alive.
    setTimeout(() => process.exit(code), 100).unref();
    return code;
  });
}

function selectListeners(flags: MtaFlags): ListenerConfig[] {
  const ports = { mx: flags.mxPort, submission: flags.submissionPort, submissions: flags.submissionsPort };
  const names = flags.listeners
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  return names.map((name) => {
    if (!(listenerNames as string[]).includes(name)) throw new Error(`unknown listener ${name}; known: ${listenerNames.join(', ')}`);
    const known = name as keyof typeof defaultListenerConfigs;
    return listenerConfig(known, {
      host: flags.smtpHost,
      port: ports[known],
      ...(flags.maxConnectionsPerIp !== undefined ? { maxConnectionsPerIp: flags.maxConnectionsPerIp } : {}),
      proxyFrom: proxyRangesFor(flags, known),
      session: {
        ...defaultListenerConfigs[known].session,
        deadlineMs: flags.sessionDeadline * 1000,
        minDataRate: flags.minDataRate,
        maxFailedRecipients: flags.maxFailedRecipients,
        maxErrors: flags.maxErrorsPerSession,
      },
      ...(known === 'mx' ? { greetingDelayMs: flags.mxGreetingDelay, reverseDns: flags.mxReverseDns } : {}),
    });
  });
}

// The trusted PROXY ranges of one listener: --proxy-from when it is among --proxy-listeners.
function proxyRangesFor(flags: MtaFlags, listener: string): string[] {
  const chosen = flags.proxyListeners.split(',').map((n) => n.trim());
  if (!flags.proxyFrom || !chosen.includes(listener)) return [];
  return flags.proxyFrom
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}

function hostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`expected host:port, got ${JSON.stringify(value)}`);
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port };
}

function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`an integer of at least ${min} is needed`);
    return n;
  };
}

/** An rspamd score: a finite number (rspamd's scores may be fractional or negative). */
function score(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('a number is needed');
  return n;
}
