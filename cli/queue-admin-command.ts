// `stafette queue deferred|retry|hold|release|delete`: operator actions on deferred mail
// (mta/src/delivery/queue-operations.ts says what each does). Added under the `queue`
// command that queue-command.ts registers (stats|list|show), so register this after it.
import { Option, type Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { defaultRetryPolicy, deliveryStreams, ensureDeliveryStreams, parseDurationMs } from '../mta/src/delivery/index.ts';
import {
  deferredStats,
  deleteDeferred,
  hold,
  listDeferred,
  release,
  retryNow,
  type DeferredEntry,
  type OperationResult,
  type OperationsContext,
} from '../mta/src/delivery/queue-operations.ts';
import { defaultQueueSettings, ensureQueue, openBodyStore, queueSettings } from '../mta/src/queue/index.ts';
import { bodyStreamName } from '../mta/src/queue/settings.ts';
import { addNatsOptions, failCommand, withCliConnection, type NatsFlags } from './nats-options.ts';

interface ListFlags extends NatsFlags {
  json?: boolean;
  domain?: string;
  recipient?: string;
  olderThan?: string;
  limit: string;
}

export function registerQueueAdminCommand(cli: Command, print: (line: string) => void = (line) => console.log(line)): void {
  const queue = cli.commands.find((c) => c.name() === 'queue') ?? cli.command('queue').description('The mail queue in NATS JetStream.');

  addNatsOptions(queue.command('deferred'))
    .description('List mail waiting for a retry, oldest first, with its last reply; filters by domain, recipient and age.')
    .option('--domain <domain>', 'only messages with a pending recipient in this domain')
    .option('--recipient <address>', 'only messages with this pending recipient')
    .option('--older-than <age>', 'only messages accepted longer ago than this (e.g. 30m, 4h, 2d)')
    .option('-n, --limit <count>', 'show at most this many', '100')
    .option('--json', 'print the data as JSON instead of text')
    .action(async (flags: ListFlags) => {
      await withContext(flags, async (ctx) => {
        const filter = {
          ...(flags.domain ? { domain: flags.domain } : {}),
          ...(flags.recipient ? { recipient: flags.recipient } : {}),
          ...(flags.olderThan ? { minAgeMs: parseDurationMs(flags.olderThan) } : {}),
        };
        const list = await listDeferred(ctx, filter, { limit: Number(flags.limit) || 100 });
        const stats = await deferredStats(ctx);
        if (flags.json) return print(JSON.stringify({ stats, ...list }, null, 2));
        print(
          `deferred: ${stats.deferred}  due now: ${stats.due}  dead letters: ${stats.deadLetters}  quarantined: ${stats.quarantined}  oldest: ${age(list.oldestAgeMs)}`,
        );
        for (const e of list.entries) formatEntry(e).forEach(print);
        for (const p of list.problems) print(`  seq ${p.seq}: cannot read: ${p.problem}`);
      });
    });

  const action = (name: string, what: string, run: (ctx: OperationsContext & { nc: NatsConnection }, id: string) => Promise<OperationResult>) => {
    addNatsOptions(queue.command(name))
      .description(what)
      .argument('<queue-id...>', 'queue ids, as `stafette queue deferred` shows them')
      .action(async (queueIds: string[], flags: NatsFlags) => {
        await withContext(flags, async (ctx) => {
          for (const id of queueIds) {
            let result: OperationResult;
            try {
              result = await run(ctx, id);
            } catch (err) {
              if (err instanceof RangeError) {
                failCommand(err.message);
                continue;
              }
              throw err;
            }
            if (result === 'done') print(`${id}: ${name} done`);
            else if (result === 'not-deferred') failCommand(`${id}: not deferred (delivered, bounced, being attempted, or unknown)`);
            else failCommand(`${id}: changed while we looked (an attempt started); try again`);
          }
        });
      });
  };
  action('retry', 'Attempt deferred messages now (keeps their retry count).', retryNow);
  action('hold', 'Hold deferred messages: no attempt until `stafette queue release`.', hold);
  action('release', 'Release held messages; they are attempted at once.', release);
  action(
    'delete',
    'Delete deferred messages for good, without a bounce to the sender.',
    async (ctx, id) => await deleteDeferred({ ...ctx, bodyStore: await openBodyStore(ctx.nc, queueSettings()) }, id),
  );

  // The MTA's role users may create the queue's streams but never update them (an update can
  // delete mail: docs/trust-model.md "NATS roles and TLS"), so a changed setting is applied here.
  addNatsOptions(queue.command('setup'))
    .description('Create or update every queue stream and consumer to the given settings (as the NATS admin user); refuses what could lose mail.')
    .addOption(
      new Option('--queue-replicas <n>', 'as stafette mta --queue-replicas').env('STAFETTE_QUEUE_REPLICAS').default(String(defaultQueueSettings.replicas)),
    )
    .addOption(
      new Option('--queue-max-bytes <bytes>', 'as stafette mta --queue-max-bytes')
        .env('STAFETTE_QUEUE_MAX_BYTES')
        .default(String(defaultQueueSettings.maxBytes)),
    )
    .addOption(new Option('--message-lifetime <duration>', 'as stafette mta --message-lifetime').env('STAFETTE_MESSAGE_LIFETIME').default('5d'))
    .action(async (flags: NatsFlags & { queueReplicas: string; queueMaxBytes: string; messageLifetime: string }) => {
      await withCliConnection(flags, 'queue setup failed', async (nc) => {
        const settings = queueSettings({ replicas: Number(flags.queueReplicas), maxBytes: Number(flags.queueMaxBytes) });
        const result = await ensureQueue(nc, settings);
        const outdated = await ensureDeliveryStreams(nc, settings, deliveryStreams(settings, parseDurationMs(flags.messageLifetime)));
        print(
          `${settings.streamName}: ${result.jobStream}; ${bodyStreamName(settings)}: ${result.bodyStream}; consumer ${settings.consumerName}: ${result.consumer}`,
        );
        for (const [what, outcome] of Object.entries(result)) if (outcome === 'outdated') outdated.unshift(what);
        if (outdated.length > 0) failCommand(`not permitted to update ${outdated.join(', ')}: connect as the NATS admin user`);
        else print('retry and ledger streams and the retry consumer: up to date');
      });
    });
}

function formatEntry(e: DeferredEntry): string[] {
  const state = e.held ? 'HELD' : `next ${e.notBefore}`;
  const lines = [`${e.queueId}  age ${age(e.ageMs)}  attempts ${e.failedAttempts}  ${state}  from <${e.sender}>`];
  for (const r of e.recipients) {
    const last = e.lastReplies.find((l) => l.recipient === r);
    lines.push(`    <${r}>${last ? `  ${last.code} ${last.enhanced} ${last.text}` : ''}`);
  }
  return lines;
}

function age(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Runs `work` with the queue's streams on a fail-fast CLI connection. */
async function withContext(flags: NatsFlags, work: (ctx: OperationsContext & { nc: NatsConnection }) => Promise<void>): Promise<void> {
  await withCliConnection(flags, 'queue operation failed', (nc) => work({ nc, streams: deliveryStreams(queueSettings(), defaultRetryPolicy.lifetimeMs) }));
}
