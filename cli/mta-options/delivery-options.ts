// `stafette mta` flags of delivery: whether this process delivers, its workers, local maildirs,
// the outbound port and the retry schedule (defaults from mta/src/delivery/, read here only).
import { Option, type Command } from 'commander';
import { defaultDeliveryMemoryBytes, defaultDeliveryWorkers, defaultMaxDeliveries } from '../../mta/src/delivery/index.ts';
import { defaultRetryPolicy, formatDuration, formatSchedule, parseDurationMs, parseSchedule } from '../../mta/src/delivery/retry-policy.ts';
import { defaultMxPort } from '../../mta/src/transport/remote-smtp.ts';
import { integer } from './flag-parsers.ts';

export interface DeliveryFlags {
  delivery: boolean;
  deliveryWorkers: number;
  maxDeliveries: number;
  deliveryMemoryBudgetMib: number;
  localMaildirRoot: string;
  outboundPort: number;
  retrySchedule: string;
  messageLifetime: string;
}

export function addDeliveryOptions(command: Command): Command {
  return command
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
      new Option('--delivery-memory-budget-mib <MiB>', 'message bodies delivery may hold in memory at once; a worker waits for room before it loads one')
        .env('STAFETTE_DELIVERY_MEMORY_BUDGET_MIB')
        .argParser(integer(1))
        .default(defaultDeliveryMemoryBytes / 1024 / 1024),
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
    );
}

/** The retry schedule and message lifetime of the flags; throws on a malformed one. */
export function retryPolicyFrom(flags: DeliveryFlags): { delaysMs: number[]; lifetimeMs: number } {
  return { delaysMs: parseSchedule(flags.retrySchedule), lifetimeMs: parseDurationMs(flags.messageLifetime) };
}
