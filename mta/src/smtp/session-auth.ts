// The AUTH hook of one listener (session-handlers.ts): PLAIN and LOGIN against the bundle's
// password hashes, behind the shared AUTH failure limits (policy/shared-limits.ts) and the pod's
// scrypt gate; an unknown login costs the same scrypt work as a known one.
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { normalizeAddress } from '../../../bundle/address.ts';
import { decoyPasswordHash, verifyPasswordAsync } from '../../../bundle/password-hash.ts';
import { isSmtpError } from '../errors.ts';
import { clientKey } from '../policy/client-key.ts';
import { authFailed, tooManyAuthFailures } from '../policy/rejections.ts';
import { authBusy } from '../policy/shared-limits.ts';
import type { HookKit, SessionState } from './session-context.ts';
import type { createSharedChecks } from './shared-limit-checks.ts';

type SharedChecks = ReturnType<typeof createSharedChecks>;

export function createAuthHook(kit: HookKit, shared: Pick<SharedChecks, 'checkAuthBlocked' | 'recordAuthFailure'>) {
  const { ctx, name, state, reject } = kit;
  const { checkAuthBlocked, recordAuthFailure } = shared;

  return function onAuth(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    done: (err: Error | null | undefined, res?: SMTPServerAuthenticationResponse) => void,
  ): void {
    ctx.observer.command(name, 'AUTH');
    let s: SessionState;
    try {
      s = state(session);
    } catch (err) {
      done(reject('AUTH', ctx.logger, err));
      return;
    }
    const ip = clientKey(session.remoteAddress);
    // Only a login that is an address can be an account: anything else (a 3 KB username, say)
    // is counted for the client alone, so what a stranger types never becomes a counter key
    // of its own (docs/reliability.md §1, "How the shared limits count").
    const account = normalizeAddress(auth.username ?? '')?.address ?? null;
    void (async () => {
      const blocked = await checkAuthBlocked(ip, account, s.log);
      const verifying = blocked ? null : ctx.scryptGate ? ctx.scryptGate.run(() => authenticate(s, auth)) : authenticate(s, auth);
      try {
        if (blocked) throw blocked;
        if (!verifying) throw authBusy();
        return await verifying;
      } catch (err) {
        // A blocked attempt counts for the client too: one that keeps trying reaches twice the
        // limit and is then refused at connect (policy/shared-limits.ts). It does not count for
        // the account, which no password was tried against: otherwise anyone could keep a
        // real user locked out for ever by trying on after the block.
        if (!(isSmtpError(err) && err.rule === 'auth_busy')) await recordAuthFailure(ip, blocked ? null : account, s.log);
        throw err;
      }
    })().then(
      ({ user, hash }) => {
        s.login = { user, hash };
        ctx.observer.authAttempt(name, 'success');
        s.log.info('authenticated', { user, method: auth.method });
        done(null, { user });
      },
      (err: unknown) => {
        ctx.observer.authAttempt(name, 'failure');
        s.authFailures++;
        const error = s.authFailures >= ctx.listener.maxAuthFailures ? tooManyAuthFailures(ctx.listener.maxAuthFailures) : err;
        done(reject('AUTH', s.log, error));
      },
    );
  };

  async function authenticate(s: SessionState, auth: SMTPServerAuthentication): Promise<{ user: string; hash: string }> {
    if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') throw authFailed(auth.username ?? '', `method ${auth.method} not offered`);
    const raw = auth.username ?? '';
    // PLAIN may name a different authorization identity (RFC 4616); we do not offer proxy logins.
    if (auth.authzid && auth.authzid !== raw) throw authFailed(raw, 'authorization identity differs from the login');
    const user = normalizeAddress(raw)?.address ?? null;
    const mailbox = user ? s.config.bundle.mailboxes.find((m) => m.address === user) : undefined;
    const hash = mailbox?.login && user ? s.config.secrets.passwords[user] : undefined;
    // An unknown login (or one that may not log in) costs the same scrypt work as a known one,
    // against a decoy of the platform's one cost, so timing does not tell which logins exist
    // (docs/trust-model.md, docs/reliability.md §3 scenario 22). The bundle check admits only
    // hashes of that cost, so a stored hash costs the same as the decoy.
    ctx.observer.passwordChecked(name, hash ? 'stored' : 'decoy');
    const ok = await verifyPasswordAsync(hash ?? decoyPasswordHash, auth.password ?? '');
    if (!hash || !user) throw authFailed(raw, mailbox ? 'mailbox may not log in' : 'no such login');
    if (!ok) throw authFailed(raw, 'wrong password');
    return { user, hash };
  }
}
