// An authenticated session's login, re-checked at each MAIL against the bundle in force now
// (docs/reliability.md §1): a deleted mailbox, a mailbox that may no longer log in, or a changed
// password ends what the old login may send (530 5.7.0), though the session started before.
import type { BundleSecrets, Bundle } from '../../../bundle/schema.ts';
import { loginRevoked } from './rejections.ts';

/** Throws loginRevoked when `login` (the user and the hash its password was verified against) is no longer valid. */
export function checkLoginStillValid(now: { readonly bundle: Bundle; readonly secrets: BundleSecrets }, login: { user: string; hash: string }): void {
  const mailbox = now.bundle.mailboxes.find((m) => m.address === login.user);
  if (!mailbox) throw loginRevoked(login.user, 'the mailbox no longer exists');
  if (!mailbox.login) throw loginRevoked(login.user, 'the mailbox may no longer log in');
  if (now.secrets.passwords[login.user] !== login.hash) throw loginRevoked(login.user, 'the password changed');
}
