// The stafette command line: one program, one subcommand per role.
import { Command, Option } from 'commander';
import type { MtaStsServer } from '../operator/src/render/input.ts';
import { registerMtaCommand } from './mta-command.ts';
import { registerNatsConfigCommand } from './nats-config-command.ts';
import { registerOperatorCommand } from './operator-command.ts';
import { registerQueueCommand } from './queue-command.ts';
import { registerQueueAdminCommand } from './queue-admin-command.ts';
import { registerQueueQuarantineCommand } from './queue-quarantine-command.ts';
import { registerTlsReportCommand } from './tls-report-command.ts';
import { renderCommand } from './render-command.ts';
import { addDeliveryTargetOptions, deliveryTargetPolicyOf, type DeliveryTargetFlags } from './delivery-target-flags.ts';

export function program(): Command {
  const cli = new Command('stafette')
    .description('A Kubernetes-native mail transfer agent: MailDomain, Mailbox and Relay resources, an operator, and MTA pods with a JetStream queue.')
    .showHelpAfterError()
    .enablePositionalOptions();

  const render = cli
    .command('render')
    .description(
      'Render manifests offline into the MTA configuration bundle, like helm template: generates DKIM keys on the ' +
        'first render and keeps them, and prints the DNS records to publish for each domain.',
    )
    .argument('<manifests>', 'a file or directory of MailDomain, Mailbox, Relay and Secret manifests (searched recursively)')
    .requiredOption('-o, --out <dir>', 'where to write bundle/, dkim/ and dns/ (DKIM keys found there are kept)')
    .option('-q, --quiet', 'print only problems')
    .addOption(
      new Option('--mta-sts-served-by <who>', 'who serves https://mta-sts.<domain>/: the MTA (its certificate must name mta-sts.<domain>), an Ingress, or none')
        .choices(['mta', 'ingress', 'none'])
        .default('mta'),
    );
  addDeliveryTargetOptions(render).action(
    (manifests: string, options: { out: string; quiet?: boolean; mtaStsServedBy: MtaStsServer } & DeliveryTargetFlags) => {
      try {
        process.exitCode = renderCommand(manifests, { ...options, deliveryTargets: deliveryTargetPolicyOf(options) });
      } catch (err) {
        console.error(`error: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    },
  );

  registerMtaCommand(cli);
  registerOperatorCommand(cli);
  registerQueueCommand(cli);
  registerQueueAdminCommand(cli);
  registerQueueQuarantineCommand(cli);
  registerTlsReportCommand(cli);
  registerNatsConfigCommand(cli);

  return cli;
}

await program().parseAsync(process.argv);
