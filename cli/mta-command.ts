// `stafette mta`: run the MTA (SMTP intake into the JetStream queue, delivery) as a pod does.
// This file only turns flags into options for mta/src/main.ts, which composes the process; the
// flags are declared by concern in cli/mta-options/ (queue, listeners and session limits, the
// process, delivery, inbound checks, standards). Every default is the library's, read there,
// never written again. Flags have environment variables for the Deployment; signals: SIGTERM and
// SIGINT stop it in order, a second signal stops it at once.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { DeliveryTargetPolicy } from '../bundle/delivery-targets.ts';
import { startMta, type RunningMta } from '../mta/src/main.ts';
import { describeError } from '../mta/src/errors.ts';
import type { SpamFilterOptions } from '../mta/src/spam/rspamd.ts';
import type { ListenerConfig } from '../mta/src/smtp/index.ts';
import { jsonLogger, type LogLevel } from '../observability/logger.ts';
import { addDeliveryTargetOptions, deliveryTargetPolicyOf, type DeliveryTargetFlags } from './delivery-target-flags.ts';
import { addDeliveryOptions, retryPolicyFrom, type DeliveryFlags } from './mta-options/delivery-options.ts';
import { addInboundCheckOptions, dnsblZonesFrom, rspamdFrom, type InboundCheckFlags } from './mta-options/inbound-check-options.ts';
import { addListenerOptions, selectListeners, type ListenerFlags } from './mta-options/listener-options.ts';
import { addProcessOptions, type ProcessFlags } from './mta-options/process-options.ts';
import { addQueueOptions, addQueueSealOption, queueSealKeysFrom, queueSettingsFrom, type QueueFlags } from './mta-options/queue-options.ts';
import { addStandardsOptions, delayNoticeAfterFrom, policyServerFrom, type StandardsFlags } from './mta-options/standards-options.ts';
import { addNatsOptions, natsEnvHelp, natsServerOptions, type NatsFlags } from './nats-options.ts';
import { addSharedLimitOptions, sharedLimitsFrom, type SharedLimitFlags } from './shared-limit-options.ts';

interface MtaFlags
  extends NatsFlags, DeliveryTargetFlags, SharedLimitFlags, QueueFlags, ListenerFlags, ProcessFlags, DeliveryFlags, InboundCheckFlags, StandardsFlags {
  configDir: string;
  secretDir?: string;
  logLevel: LogLevel;
}

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
  // Added in this order, so --help lists the flags grouped as they always were.
  const groups = [
    addSharedLimitOptions,
    addNatsOptions,
    addQueueOptions,
    addListenerOptions,
    addProcessOptions,
    addDeliveryOptions,
    addInboundCheckOptions,
    addStandardsOptions,
    addQueueSealOption,
  ];
  for (const addGroup of groups) addGroup(command);
  command
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
    queueSealKeys = queueSealKeysFrom(flags);
    targets = deliveryTargetPolicyOf(flags);
    listeners = selectListeners(flags);
    policy = retryPolicyFrom(flags);
    delayNoticeAfterMs = delayNoticeAfterFrom(flags);
    policyServer = policyServerFrom(flags);
    rspamd = rspamdFrom(flags);
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
      queue: queueSettingsFrom(flags),
      ops: { host: flags.opsHost, port: flags.opsPort },
      shutdownTimeoutMs: flags.shutdownTimeout * 1000,
      configRecheckMs: flags.configRecheck * 1000,
      listeners,
      memoryBudgetBytes: flags.memoryBudgetMib * 1024 * 1024,
      streamThresholdBytes: flags.streamThresholdKib * 1024,
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
        dnsblZones: dnsblZonesFrom(flags),
        dnsblTimeoutMs: flags.dnsblTimeout,
        rspamd,
      },
      delivery: flags.delivery
        ? {
            workers: flags.deliveryWorkers,
            maxDeliveries: flags.maxDeliveries,
            memoryBudgetBytes: flags.deliveryMemoryBudgetMib * 1024 * 1024,
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
