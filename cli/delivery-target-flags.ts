// The platform's delivery-target allow-lists as flags, the same on `stafette operator` and
// `stafette mta` (the chart passes its values deliveryTargets.* to both; docs/trust-model.md).
import type { Command } from 'commander';
import { cidrProblem, defaultDeliveryTargetPolicy, type DeliveryTargetPolicy } from '../bundle/delivery-targets.ts';

export interface DeliveryTargetFlags {
  allowLmtpHost: string[];
  maildirRoot?: string;
  webhookAllowNetwork: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function addDeliveryTargetOptions(command: Command): Command {
  return command
    .option(
      '--allow-lmtp-host <host>',
      'an LMTP host Mailboxes may name, or *.suffix (repeatable; default none; the operator also allows its --default-delivery host)',
      collect,
      [],
    )
    .option('--maildir-root <dir>', 'the directory explicit maildir paths of Mailboxes must be inside (default: no explicit maildirs)')
    .option('--webhook-allow-network <cidr>', 'a non-public network webhooks may reach nonetheless, e.g. 10.1.2.0/24 (repeatable; default none)', collect, []);
}

/** The policy the flags describe; throws on a CIDR that is not one. */
export function deliveryTargetPolicyOf(flags: Partial<DeliveryTargetFlags>): DeliveryTargetPolicy {
  const networks = flags.webhookAllowNetwork ?? [];
  for (const cidr of networks) {
    const problem = cidrProblem(cidr);
    if (problem) throw new Error(`--webhook-allow-network: ${problem}`);
  }
  return {
    lmtpHosts: flags.allowLmtpHost ?? defaultDeliveryTargetPolicy.lmtpHosts,
    maildirRoot: flags.maildirRoot ?? defaultDeliveryTargetPolicy.maildirRoot,
    webhookAllowNetworks: networks,
  };
}
