// The flags of the limits every MTA pod shares (mta/src/policy/shared-limits.ts), one per
// setting, defaults from defaultSharedLimits (declared there once). `--no-shared-limits` turns
// them off (a test MTA without KV; never in production).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { defaultSharedLimits, type SharedLimitSettings } from '../mta/src/policy/shared-limits.ts';

const flags: readonly { key: keyof SharedLimitSettings; flag: string; env: string; help: string; scale?: number }[] = [
  {
    key: 'authFailuresPerIp',
    flag: 'auth-failures-per-ip',
    env: 'AUTH_FAILURES_PER_IP',
    help: 'failed AUTH per client (IPv6: /64) per window; then 454 4.7.0, at twice it 421 at connect',
  },
  {
    key: 'authFailuresPerAccount',
    flag: 'auth-failures-per-account',
    env: 'AUTH_FAILURES_PER_ACCOUNT',
    help: 'failed AUTH per account per window; then 454 4.7.0',
  },
  { key: 'authWindowMs', flag: 'auth-failure-window', env: 'AUTH_FAILURE_WINDOW_SECONDS', help: 'seconds of the AUTH failure window', scale: 1000 },
  {
    key: 'connectionsPerIpPerMinute',
    flag: 'connections-per-ip-per-minute',
    env: 'CONNECTIONS_PER_IP_PER_MINUTE',
    help: 'new connections per client per minute, all pods; then 421 4.7.0',
  },
  {
    key: 'messagesPerIpPerMinute',
    flag: 'messages-per-ip-per-minute',
    env: 'MESSAGES_PER_IP_PER_MINUTE',
    help: 'MAIL commands per client per minute, all pods; then 451 4.7.0',
  },
  {
    key: 'messagesPerUserPerHour',
    flag: 'messages-per-user-per-hour',
    env: 'MESSAGES_PER_USER_PER_HOUR',
    help: 'messages per authenticated user per hour, all pods; then 451 4.7.0',
  },
  {
    key: 'recipientsPerUserPerHour',
    flag: 'recipients-per-user-per-hour',
    env: 'RECIPIENTS_PER_USER_PER_HOUR',
    help: 'recipients per authenticated user per hour, all pods; then 451 4.7.0',
  },
  { key: 'scryptConcurrency', flag: 'scrypt-concurrency', env: 'SCRYPT_CONCURRENCY', help: 'password verifications at once in this pod (32 MiB scrypt each)' },
];

export interface SharedLimitFlags {
  sharedLimits: boolean;
  [flag: string]: unknown;
}

export function addSharedLimitOptions(command: Command): Command {
  command.addOption(new Option('--no-shared-limits', 'do not count the shared limits (tests only)'));
  for (const f of flags) {
    command.addOption(
      new Option(`--${f.flag} <n>`, f.help)
        .env(`STAFETTE_${f.env}`)
        .argParser(positive)
        .default(defaultSharedLimits[f.key] / (f.scale ?? 1)),
    );
  }
  return command;
}

/** The settings for startMta(), or null with --no-shared-limits. */
export function sharedLimitsFrom(values: SharedLimitFlags): Partial<SharedLimitSettings> | null {
  if (!values.sharedLimits) return null;
  const out: Partial<Record<keyof SharedLimitSettings, number>> = {};
  for (const f of flags) {
    const camel = f.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = values[camel];
    if (typeof v === 'number') out[f.key] = v * (f.scale ?? 1);
  }
  return out;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}
