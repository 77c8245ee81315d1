// `stafette mta` flags of the checks on mail arriving on the mx listener: SPF, DKIM, ARC and
// DMARC (docs/mail-standards.md), DNS blocklists and rspamd
// (docs/spam-checks.md). Defaults from mta/src/dns/ and mta/src/spam/, read here only.
import { Option, type Command } from 'commander';
import { defaultLookupBudgetMs } from '../../mta/src/dns/lookup-budget.ts';
import { defaultDnsblTimeoutMs } from '../../mta/src/spam/dnsbl.ts';
import { defaultMarkScore, defaultRejectScore, defaultSpamTimeoutMs, type SpamFilterOptions } from '../../mta/src/spam/rspamd.ts';
import { integer, score } from './flag-parsers.ts';

export interface InboundCheckFlags {
  inboundChecks: boolean;
  inboundDnsBudget: number;
  dnsblZones: string;
  dnsblTimeout: number;
  rspamdUrl: string;
  rspamdRejectScore: string;
  rspamdMarkScore: number;
  rspamdTimeout: number;
  rspamdOnError: 'defer' | 'accept';
}

export function addInboundCheckOptions(command: Command): Command {
  return command
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
    );
}

/** The rspamd check of the flags, or null without --rspamd-url; throws on a malformed one. */
export function rspamdFrom(flags: InboundCheckFlags): SpamFilterOptions | null {
  return flags.rspamdUrl
    ? {
        url: new URL(flags.rspamdUrl).href,
        rejectScore: flags.rspamdRejectScore === 'off' ? null : score(flags.rspamdRejectScore),
        markScore: flags.rspamdMarkScore,
        timeoutMs: flags.rspamdTimeout,
        onError: flags.rspamdOnError,
      }
    : null;
}

/** The DNS blocklist zones of --dnsbl-zones. */
export function dnsblZonesFrom(flags: InboundCheckFlags): string[] {
  return flags.dnsblZones
    .split(',')
    .map((z) => z.trim())
    .filter((z) => z !== '');
}
