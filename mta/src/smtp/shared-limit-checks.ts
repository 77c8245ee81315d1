// The shared limits of policy/shared-limits.ts as the session handlers ask them: each check
// counts or reads the KV counters (queue/shared-counters.ts) and returns or throws the refusal.
// When the bucket cannot be used the limit is not applied and a warning is logged.
import type { Logger } from '../../../observability/logger.ts';
import { isSmtpError, type SmtpError } from '../errors.ts';
import { clientKey } from '../policy/client-key.ts';
import { authBlocked, minuteMs, rateLimited, type CounterKind, type SharedLimitSettings } from '../policy/shared-limits.ts';
import type { WindowCounters } from '../queue/shared-counters.ts';
import type { ListenerRole } from './listener-config.ts';

export function createSharedChecks(shared: { readonly counters: WindowCounters; readonly settings: SharedLimitSettings } | null, role: ListenerRole) {
  async function countShared(log: Logger, op: (c: WindowCounters, limits: SharedLimitSettings) => Promise<number>): Promise<number> {
    if (!shared) return 0;
    try {
      return await op(shared.counters, shared.settings);
    } catch (err) {
      log.warn('shared limits unavailable: not applied', { err });
      return 0;
    }
  }

  /** Counts one event of `kind` for `subject`; throws the refusal when the window is over the limit. */
  async function overShared(
    log: Logger,
    kind: Exclude<CounterKind, 'auth-user'>,
    subject: string,
    windowMs: number,
    limitOf: (l: SharedLimitSettings) => number,
  ) {
    if (!shared) return;
    const limit = limitOf(shared.settings);
    const n = await countShared(log, (c) => c.add(kind, subject, windowMs));
    if (n > limit) throw rateLimited(kind, limit);
  }

  return {
    overShared,

    /** At connect: connections per client per minute; on submission, a client at twice the AUTH failure limit. */
    checkSharedAtConnect: async (ip: string, log: Logger): Promise<SmtpError | null> => {
      if (!shared) return null;
      const key = clientKey(ip);
      try {
        await overShared(log, 'conn-ip', key, minuteMs, (l) => l.connectionsPerIpPerMinute);
        if (role === 'submission') {
          const limit = shared.settings.authFailuresPerIp * 2;
          const failures = await countShared(log, (c, l) => c.get('auth-ip', key, l.authWindowMs));
          if (failures >= limit) return rateLimited('auth-ip', limit);
        }
        return null;
      } catch (err) {
        if (isSmtpError(err)) return err;
        throw err;
      }
    },

    /** Before the password is verified: a client or account at its failure limit gets 454 4.7.0. */
    checkAuthBlocked: async (ip: string, account: string | null, log: Logger): Promise<SmtpError | null> => {
      if (!shared) return null;
      const l = shared.settings;
      if ((await countShared(log, (c) => c.get('auth-ip', ip, l.authWindowMs))) >= l.authFailuresPerIp) return authBlocked('auth-ip', l.authFailuresPerIp);
      if (account !== null && (await countShared(log, (c) => c.get('auth-user', account, l.authWindowMs))) >= l.authFailuresPerAccount)
        return authBlocked('auth-user', l.authFailuresPerAccount);
      return null;
    },

    /** `account` null: the attempt is counted for the client only (see session-auth.ts for when). */
    recordAuthFailure: async (ip: string, account: string | null, log: Logger): Promise<void> => {
      await countShared(log, async (c, l) => {
        await c.add('auth-ip', ip, l.authWindowMs);
        if (account !== null) await c.add('auth-user', account, l.authWindowMs);
        return 0;
      });
    },
  };
}
