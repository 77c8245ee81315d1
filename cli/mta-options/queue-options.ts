// `stafette mta` flags of the JetStream queue: its replicas, the caps of its streams and buckets
// (mta/src/queue/settings.ts declares the defaults) and the keys of the queue seal.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { parseSealKeys } from '../../mta/src/queue/record-seal.ts';
import { defaultQueueSettings, type QueueSettings } from '../../mta/src/queue/settings.ts';
import { integer } from './flag-parsers.ts';

export interface QueueFlags {
  instance: string;
  queueReplicas: number;
  queueMaxBytes: number;
  bodyMaxBytes: number;
  retryMaxBytes: number;
  ledgerMaxBytes: number;
  storeNearFullPercent: number;
  queueSealKeyFile?: string;
}

export function addQueueOptions(command: Command): Command {
  return command
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
    );
}

export function addQueueSealOption(command: Command): Command {
  return command.addOption(
    new Option(
      '--queue-seal-key-file <file>',
      'keys of the queue seal, one per line (the first seals, all verify), the same in every MTA pod (default: a random key of this process only)',
    ).env('STAFETTE_QUEUE_SEAL_KEY_FILE'),
  );
}

/** The queue settings for startMta(). */
export function queueSettingsFrom(flags: QueueFlags): Partial<QueueSettings> {
  return {
    replicas: flags.queueReplicas,
    maxBytes: flags.queueMaxBytes,
    bodyMaxBytes: flags.bodyMaxBytes,
    retryMaxBytes: flags.retryMaxBytes,
    ledgerMaxBytes: flags.ledgerMaxBytes,
    nearFullRatio: flags.storeNearFullPercent / 100,
  };
}

/** The seal keys of --queue-seal-key-file; undefined without it (startMta then makes a random one). */
export function queueSealKeysFrom(flags: QueueFlags): Buffer[] | undefined {
  return flags.queueSealKeyFile ? parseSealKeys(readFileSync(flags.queueSealKeyFile, 'utf8')) : undefined;
}
