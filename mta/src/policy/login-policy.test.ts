import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLoginStillValid } from './login-policy.ts';
import { policyBundle } from './example-bundle.fixture.ts';

const secrets = { passwords: { 'bob@example.com': 'hash-1' }, dkimKeys: {}, tlsCertificates: {} } as never;

test('a login stays valid while the mailbox exists, may log in and has the same hash', () => {
  assert.doesNotThrow(() => checkLoginStillValid({ bundle: policyBundle, secrets }, { user: 'bob@example.com', hash: 'hash-1' }));
});

test('a changed password, a mailbox without login or a deleted mailbox revoke it (530 5.7.0)', () => {
  const revoked = (bundle: typeof policyBundle, hash: string) => {
    try {
      checkLoginStillValid({ bundle, secrets }, { user: 'bob@example.com', hash });
      return 'valid';
    } catch (err) {
      return (err as { replyLine(): string }).replyLine();
    }
  };
  assert.match(revoked(policyBundle, 'hash-0'), /^530 5\.7\.0 /);
  assert.match(revoked({ ...policyBundle, mailboxes: policyBundle.mailboxes.filter((m) => m.address !== 'bob@example.com') }, 'hash-1'), /^530 5\.7\.0 /);
  assert.match(revoked({ ...policyBundle, mailboxes: policyBundle.mailboxes.map((m) => ({ ...m, login: false })) }, 'hash-1'), /^530 5\.7\.0 /);
});
