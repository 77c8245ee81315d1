// `stafette tls-report`: the TLS-RPT aggregate report (RFC 8460 JSON) of a UTC day as every MTA
// pod has counted it so far (the shared counts in JetStream: mta/src/tls-report/report-store.ts),
// one report per policy domain. Read-only; today by default, so an operator sees what the
// report mailed tomorrow will say.
import { InvalidArgumentError, type Command } from 'commander';
import { hostname } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { renderReport, utcDay } from '../mta/src/tls-report/report.ts';
import { readDay, tlsReportBucket } from '../mta/src/tls-report/report-store.ts';
import { addNatsOptions, natsEnvHelp, withCliConnection, type NatsFlags } from './nats-options.ts';

interface ReportFlags extends NatsFlags {
  day: string;
  domain?: string;
  submitter: string;
  contact?: string;
}

export function registerTlsReportCommand(cli: Command, print: (line: string) => void = (line) => console.log(line)): void {
  addNatsOptions(cli.command('tls-report'))
    .description('Print the TLS-RPT report (RFC 8460 JSON) of a day, one per policy domain, as counted by every MTA pod so far.')
    .option('--day <YYYY-MM-DD>', 'the UTC day (default: today)', utcDate, utcDay(Date.now()))
    .option('--domain <domain>', 'only this policy domain')
    .option('--submitter <host>', 'our name in the report (organization, report id)', hostname())
    .option('--contact <address>', "contact-info of the report (default: postmaster@ the submitter's domain)")
    .addHelpText('after', natsEnvHelp)
    .action(async (flags: ReportFlags) => {
      await withCliConnection(flags, 'reading the TLS-RPT counts failed', async (nc) => {
        let kv;
        try {
          kv = await new Kvm(nc).open(tlsReportBucket);
          await kv.status();
        } catch {
          print('[]'); // no MTA has counted anything yet
          return;
        }
        const who = {
          organization: `Stafette at ${flags.submitter}`,
          submitter: flags.submitter,
          contact: flags.contact ?? `postmaster@${flags.submitter.split('.').slice(1).join('.') || flags.submitter}`,
        };
        const reports = [...(await readDay(kv, flags.day))]
          .filter(([domain]) => !flags.domain || domain === flags.domain.toLowerCase())
          .map(([domain, counters]) => renderReport(flags.day, domain, counters, who));
        print(JSON.stringify(reports, null, 2));
      });
    });
}

function utcDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError('expected a date like 2026-11-18');
  return value;
}
