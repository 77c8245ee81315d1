// `stafette queue quarantine list|show|release`: jobs delivered more than --max-deliveries
// times without being settled (mta/src/delivery/quarantine.ts says what each does). Added
// under the `queue` command that queue-command.ts registers, so register this after it.
import type { Command } from 'commander';
import { defaultRetryPolicy, deliveryStreams } from '../mta/src/delivery/index.ts';
import { listQuarantined, releaseQuarantined, showQuarantined, type QuarantineContext, type QuarantinedJob } from '../mta/src/delivery/quarantine.ts';
import { queueSettings } from '../mta/src/queue/index.ts';
import { addNatsOptions, failCommand, withCliConnection, type NatsFlags } from './nats-options.ts';

interface JsonFlags extends NatsFlags {
  json?: boolean;
}

export function registerQueueQuarantineCommand(cli: Command, print: (line: string) => void = (line) => console.log(line)): void {
  const queue = cli.commands.find((c) => c.name() === 'queue') ?? cli.command('queue').description('The mail queue in NATS JetStream.');
  const quarantine = queue.command('quarantine').description('Jobs set aside after too many deliveries (a poison record, a write that kept failing).');

  addNatsOptions(quarantine.command('list'))
    .description('List quarantined jobs with their reason and envelope.')
    .option('--json', 'print the data as JSON instead of text')
    .action(async (flags: JsonFlags) => {
      await withContext(flags, async (ctx) => {
        const jobs = await listQuarantined(ctx);
        if (flags.json) return print(JSON.stringify(jobs, null, 2));
        print(`quarantined: ${jobs.length}`);
        for (const job of jobs) formatJob(job).forEach(print);
      });
    });

  addNatsOptions(quarantine.command('show'))
    .description('Show one quarantined job.')
    .argument('<tag>', 'the tag `stafette queue quarantine list` shows (fresh-<seq> or retry-<seq>)')
    .option('--json', 'print the data as JSON instead of text')
    .action(async (tag: string, flags: JsonFlags) => {
      await withContext(flags, async (ctx) => {
        const job = await guarded(() => showQuarantined(ctx, tag));
        if (job === undefined) return;
        if (job === null) return failCommand(`${tag}: not quarantined`);
        if (flags.json) return print(JSON.stringify(job, null, 2));
        formatJob(job).forEach(print);
      });
    });

  addNatsOptions(quarantine.command('release'))
    .description('Put quarantined jobs back where they came from, with a fresh delivery count.')
    .argument('<tag...>', 'tags, as `stafette queue quarantine list` shows them')
    .action(async (tags: string[], flags: NatsFlags) => {
      await withContext(flags, async (ctx) => {
        for (const tag of tags) {
          const result = await guarded(() => releaseQuarantined(ctx, tag));
          if (result === 'done') print(`${tag}: released`);
          else if (result === 'not-quarantined') failCommand(`${tag}: not quarantined`);
        }
      });
    });
}

/** A RangeError (a malformed tag) is the user's mistake: said, and undefined returned. */
async function guarded<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RangeError) {
      failCommand(err.message);
      return undefined;
    }
    throw err;
  }
}

function formatJob(job: QuarantinedJob): string[] {
  const envelope = job.queueId ? `${job.queueId}  from <${job.sender}>` : `unreadable: ${job.problem}`;
  const lines = [
    `${job.tag}  ${job.quarantinedAt}  deliveries ${job.deliveries}  ${envelope}`,
    `    reason: ${job.reason}`,
    `    from subject: ${job.subject}`,
  ];
  for (const r of job.recipients) lines.push(`    <${r}>`);
  return lines;
}

async function withContext(flags: NatsFlags, work: (ctx: QuarantineContext) => Promise<void>): Promise<void> {
  await withCliConnection(flags, 'quarantine operation failed', (nc) => work({ nc, streams: deliveryStreams(queueSettings(), defaultRetryPolicy.lifetimeMs) }));
}
