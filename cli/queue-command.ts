// `stafette queue stats|list|show`: read-only views of the JetStream queue, for operators.
// Nothing here consumes, acks or removes a job (mta/src/queue/inspect.ts). The CLI fails
// fast when NATS is unreachable instead of waiting for it like the MTA does.
import { InvalidArgumentError, type Command } from 'commander';
import { listQueue, openBodyStore, queueSettings, queueStats, showQueued } from '../mta/src/queue/index.ts';
import { addNatsOptions, failCommand, natsEnvHelp, withCliConnection, type NatsFlags } from './nats-options.ts';
import { formatList, formatShow, formatStats } from './queue-output.ts';

interface OutputFlags extends NatsFlags {
  json?: boolean;
}

export function registerQueueCommand(cli: Command, print: (line: string) => void = (line) => console.log(line)): void {
  const queue = cli
    .command('queue')
    .description('Inspect the mail queue in NATS JetStream (read-only: nothing is consumed, acked or removed).')
    .addHelpText('after', natsEnvHelp);

  const withCommon = (command: Command) => addNatsOptions(command).option('--json', 'print the data as JSON instead of text');

  withCommon(queue.command('stats'))
    .description('How many jobs are queued, how many are being delivered, and the oldest one.')
    .action(async (flags: OutputFlags) => {
      await withCliConnection(flags, 'reading the queue failed', async (nc) => {
        const stats = await queueStats({ nc, settings: queueSettings() });
        if (flags.json) print(JSON.stringify(stats, null, 2));
        else formatStats(stats, Date.now()).forEach(print);
      });
    });

  withCommon(queue.command('list'))
    .description('List queued jobs, oldest first: queue id, size, age, sender and recipients.')
    .option('-n, --limit <count>', 'show at most this many jobs', positiveInteger, 100)
    .option('--from <seq>', 'start at this stream sequence (to page through a long queue)', positiveInteger, 1)
    .action(async (flags: OutputFlags & { limit: number; from: number }) => {
      await withCliConnection(flags, 'reading the queue failed', async (nc) => {
        const list = await listQueue({ nc, settings: queueSettings() }, { limit: flags.limit, fromSeq: flags.from });
        if (flags.json) print(JSON.stringify(list, null, 2));
        else formatList(list).forEach(print);
      });
    });

  withCommon(queue.command('show'))
    .description('Show one queued job: envelope, client, and where its body is (checked against its digest).')
    .argument('<queue-id>', 'the queue id, as logged at intake and shown by `stafette queue list`')
    .action(async (queueId: string, flags: OutputFlags) => {
      await withCliConnection(flags, 'reading the queue failed', async (nc) => {
        const settings = queueSettings();
        let shown;
        try {
          shown = await showQueued({ nc, settings, bodyStore: await openBodyStore(nc, settings) }, queueId);
        } catch (err) {
          if (err instanceof RangeError) return failCommand(err.message);
          throw err;
        }
        if (shown === null) return failCommand(`no queued job with id ${queueId} (delivered, or never queued)`);
        if (flags.json) print(JSON.stringify(shown, null, 2));
        else formatShow(shown).forEach(print);
      });
    });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer is needed');
  return n;
}
