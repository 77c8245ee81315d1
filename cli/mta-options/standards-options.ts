// `stafette mta` flags of the mail standards besides the inbound checks: our MTA-STS policy
// server, extra trusted CAs for outbound TLS, and delay notices (docs/mail-standards.md).
import { Option, type Command } from 'commander';
import { defaultDelayNoticeMs } from '../../mta/src/dsn/notices.ts';
import { formatDuration, parseDurationMs } from '../../mta/src/delivery/retry-policy.ts';
import { defaultPolicyPort } from '../../mta/src/mta-sts/policy-server.ts';

export interface StandardsFlags {
  mtaStsServer: boolean;
  mtaStsListen: string;
  tlsCaFile?: string;
  delayNoticeAfter: string;
}

export function addStandardsOptions(command: Command): Command {
  return command
    .addOption(new Option('--no-mta-sts-server', "do not serve the domains' MTA-STS policies over HTTPS"))
    .addOption(
      new Option('--mta-sts-listen <host:port>', 'where https://mta-sts.<domain>/.well-known/mta-sts.txt is served (the Service maps 443 to it)')
        .env('STAFETTE_MTA_STS_LISTEN')
        .default(`0.0.0.0:${defaultPolicyPort}`),
    )
    .addOption(
      new Option('--tls-ca-file <file>', "extra trusted CA certificates (PEM) besides the system's, for MX hosts under MTA-STS, relays and policy hosts").env(
        'STAFETTE_TLS_CA_FILE',
      ),
    )
    .addOption(
      new Option('--delay-notice-after <duration>', 'send a delay notice (RFC 3461) for mail still undelivered after this long; "off" for none')
        .env('STAFETTE_DELAY_NOTICE_AFTER')
        .default(formatDuration(defaultDelayNoticeMs)),
    );
}

/** Where our MTA-STS policy server listens, or null with --no-mta-sts-server; throws on a malformed address. */
export function policyServerFrom(flags: StandardsFlags): { host: string; port: number } | null {
  return flags.mtaStsServer ? hostPort(flags.mtaStsListen) : null;
}

/** The delay before a delay notice, or null for "off"; throws on a malformed duration. */
export function delayNoticeAfterFrom(flags: StandardsFlags): number | null {
  return flags.delayNoticeAfter === 'off' ? null : parseDurationMs(flags.delayNoticeAfter);
}

function hostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`expected host:port, got ${JSON.stringify(value)}`);
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port };
}
