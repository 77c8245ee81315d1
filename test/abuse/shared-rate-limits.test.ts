// The rate limits every pod shares (issue 14 item 3, docs/reliability.md §1), black-box: TWO
// real `stafette mta` processes on one real nats-server (the JetStream KV bucket
// stafette-limits), their mx and submission listeners, and plain sockets as clients, each
// test alternating between the two processes so only a count both share can refuse:
//   connections per client per minute      421 4.7.0 at connect   rate_conn_ip
//   messages (MAIL) per client per minute  451 4.7.0 at MAIL      rate_msg_ip
//   messages / recipients per login / hour 451 4.7.0 at MAIL/RCPT rate_msg_user, rate_rcpt_user
//   failed AUTH per account                454 4.7.0 at AUTH      auth_failures_account
// Each test uses client addresses of its own (127.0.0.x; the whole of 127/8 is loopback, so a
// socket bound to 127.0.0.2 reaches a listener on 127.0.0.1 and the MTA sees 127.0.0.2), so the
// per-client counts of one test never reach another's. The windows are fixed (one count per
// window, docs/reliability.md §1 "How the shared limits count"): a test starts only with room
// left in the current window, so its counts are not split by a window boundary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hourMs, minuteMs } from '../../mta/src/policy/shared-limits.ts';
import { createKvCounters, limitsBucket } from '../../mta/src/queue/shared-counters.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { authAttempt, loginBundleDir, startLimitsMta, type LimitsMta } from './limits-mta.ts';

const passwordOf = (user: string) => `${user.split('@')[0]}-secret`;
// bob: messages per hour; carol: recipients per hour; dave: failed AUTH per account.
const users = ['bob@example.test', 'carol@example.test', 'dave@example.test'] as const;
const [bob, carol, dave] = users;

const limits = {
  connectionsPerIpPerMinute: 3,
  messagesPerIpPerMinute: 3,
  messagesPerUserPerHour: 3,
  recipientsPerUserPerHour: 4,
  authFailuresPerIp: 2,
  authFailuresPerAccount: 3,
  authWindowMs: 600_000,
};

/** The limit flags of both processes. */
const limitFlags = [
  ...['--connections-per-ip-per-minute', String(limits.connectionsPerIpPerMinute)],
  ...['--messages-per-ip-per-minute', String(limits.messagesPerIpPerMinute)],
  ...['--messages-per-user-per-hour', String(limits.messagesPerUserPerHour)],
  ...['--recipients-per-user-per-hour', String(limits.recipientsPerUserPerHour)],
  ...['--auth-failures-per-ip', String(limits.authFailuresPerIp), '--auth-failures-per-account', String(limits.authFailuresPerAccount)],
  ...['--auth-failure-window', String(limits.authWindowMs / 1000)],
];

/** Waits for the next window when fewer than `needMs` are left in this one (fixed windows). */
async function roomInWindow(windowMs: number, needMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 100));
}

/** stafette_smtp_rejections_total{listener,reason}, summed over the pods. */
async function rejections(pods: readonly LimitsMta[], listener: string, reason: string): Promise<number> {
  let total = 0;
  for (const pod of pods) {
    const text = await (await fetch(`http://127.0.0.1:${pod.opsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`stafette_smtp_rejections_total{listener="${listener}",reason="${reason}"} `));
    total += line ? Number(line.split(' ').pop()) : 0;
  }
  return total;
}

const from = (pod: LimitsMta, listener: 'mx' | 'submission', localAddress: string) => ({ ...pod[listener], localAddress });

/** A submission session up to a successful AUTH as `user`, then `rest`. */
const loggedIn = (user: string, rest: string) => authAttempt(user, passwordOf(user), '235 *', rest);

describe('abuse - rate limits shared by two MTA processes', () => {
  let nats: NatsServer;
  let a: LimitsMta;
  let b: LimitsMta;

  before(async () => {
    const dir = loginBundleDir('abuse-rates', Object.fromEntries(users.map((u) => [u, passwordOf(u)])));
    nats = await startNatsServer({ name: 'nats-abuse-rates' });
    [a, b] = await Promise.all([startLimitsMta('mta-rates-a', nats, dir, limitFlags), startLimitsMta('mta-rates-b', nats, dir, limitFlags)]);
  });
  after(async () => {
    await stopAll();
    await nats?.destroy();
  });

  test('connections per client per minute: the 4th connection from 127.0.0.11, whichever pod, gets 421 4.7.0 at connect', async () => {
    await roomInWindow(minuteMs, 20_000);
    const greeted = `
s: 220 *
c: QUIT
s: 221 *`;
    for (const pod of [a, b, a]) await playTranscript(from(pod, 'mx', '127.0.0.11'), greeted);
    for (const pod of [b, a]) {
      await playTranscript(
        from(pod, 'mx', '127.0.0.11'),
        `
s: 421 4.7.0 Too many connections from your address, try again later
closed`,
      );
    }
    // Another client is not affected.
    await playTranscript(from(b, 'mx', '127.0.0.12'), greeted);
    assert.equal(await rejections([a, b], 'mx', 'rate_conn_ip'), 2);
  });

  test('messages per client per minute: the 4th MAIL from 127.0.0.21 over two pods gets 451 4.7.0', async () => {
    await roomInWindow(minuteMs, 20_000);
    await playTranscript(
      from(a, 'mx', '127.0.0.21'),
      `
s: 220 *
c: EHLO sender.example
s: 250 *
c: MAIL FROM:<x@sender.example>
s: 250 *
c: RSET
s: 250 *
c: MAIL FROM:<y@sender.example>
s: 250 *
c: RSET
s: 250 *
c: QUIT
s: 221 *`,
    );
    await playTranscript(
      from(b, 'mx', '127.0.0.21'),
      `
s: 220 *
c: EHLO sender.example
s: 250 *
c: MAIL FROM:<z@sender.example>
s: 250 *
c: RSET
s: 250 *
c: MAIL FROM:<w@sender.example>
s: 451 4.7.0 Too many messages from your address, try again later
c: QUIT
s: 221 *`,
    );
    await playTranscript(
      from(a, 'mx', '127.0.0.21'),
      `
s: 220 *
c: EHLO sender.example
s: 250 *
c: MAIL FROM:<v@sender.example>
s: 451 4.7.0 Too many messages from your address, try again later
c: QUIT
s: 221 *`,
    );
    assert.equal(await rejections([a, b], 'mx', 'rate_msg_ip'), 2);
  });

  test('messages per login per hour: the 4th MAIL of bob, from three addresses and two pods, gets 451 4.7.0', async () => {
    await roomInWindow(hourMs, 30_000);
    const mail = (reply: string) => `
c: MAIL FROM:<${bob}>
s: ${reply}
c: RSET
s: 250 *`;
    await playTranscript(from(a, 'submission', '127.0.0.31'), loggedIn(bob, mail('250 *') + mail('250 *')));
    await playTranscript(
      from(b, 'submission', '127.0.0.32'),
      loggedIn(bob, mail('250 *') + mail('451 4.7.0 Too many messages for this login, try again later')),
    );
    await playTranscript(from(a, 'submission', '127.0.0.33'), loggedIn(bob, mail('451 4.7.0 Too many messages for this login, try again later')));
    assert.equal(await rejections([a, b], 'submission', 'rate_msg_user'), 2);
  });

  test('recipients per login per hour: the 5th RCPT of carol, over two pods, gets 451 4.7.0', async () => {
    await roomInWindow(hourMs, 30_000);
    const rcpt = (n: number, reply: string) => `
c: RCPT TO:<r${n}@elsewhere.example>
s: ${reply}`;
    const mail = `
c: MAIL FROM:<${carol}>
s: 250 *`;
    const refused = '451 4.7.0 Too many recipients for this login, try again later';
    await playTranscript(from(a, 'submission', '127.0.0.34'), loggedIn(carol, mail + rcpt(1, '250 *') + rcpt(2, '250 *')));
    await playTranscript(from(b, 'submission', '127.0.0.35'), loggedIn(carol, mail + rcpt(3, '250 *') + rcpt(4, '250 *') + rcpt(5, refused)));
    await playTranscript(from(a, 'submission', '127.0.0.36'), loggedIn(carol, mail + rcpt(6, refused)));
    assert.equal(await rejections([a, b], 'submission', 'rate_rcpt_user'), 2);
  });

  test('failed AUTH per account: failures from several addresses and both pods add up; attempts refused by a block do not count for the account', async () => {
    await roomInWindow(limits.authWindowMs, 60_000);
    const blocked = '454 4.7.0 Too many failed logins, try again later';
    // 127.0.0.41 fails twice (its own limit, and 2 for dave), then is blocked even with the
    // right password: that attempt is refused by the client's block and does not count for dave.
    await playTranscript(from(a, 'submission', '127.0.0.41'), authAttempt(dave, 'wrong', '535 5.7.8 *'));
    await playTranscript(from(b, 'submission', '127.0.0.41'), authAttempt(dave, 'wrong', '535 5.7.8 *'));
    await playTranscript(from(a, 'submission', '127.0.0.41'), authAttempt(dave, passwordOf(dave), blocked));
    // So dave is at 2 of 3, and logs in from elsewhere.
    await playTranscript(from(b, 'submission', '127.0.0.42'), authAttempt(dave, passwordOf(dave), '235 *'));
    // A third failure, from a third address: now dave is refused from any address, on either
    // pod, without a password check, although none of these clients has failed before.
    await playTranscript(from(a, 'submission', '127.0.0.43'), authAttempt(dave, 'wrong', '535 5.7.8 *'));
    await playTranscript(from(b, 'submission', '127.0.0.44'), authAttempt(dave, passwordOf(dave), blocked));
    await playTranscript(from(a, 'submission', '127.0.0.45'), authAttempt(dave, 'wrong', blocked));
    // Other accounts still log in from those addresses.
    await playTranscript(from(b, 'submission', '127.0.0.44'), authAttempt(bob, passwordOf(bob), '235 *'));
    assert.equal(await rejections([a, b], 'submission', 'auth_failures_ip'), 1);
    assert.equal(await rejections([a, b], 'submission', 'auth_failures_account'), 2);
    // The count in the shared bucket: the 3 checked failures, not the 3 blocked attempts.
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: nats.url });
      const counters = createKvCounters(await new Kvm(nc).open(limitsBucket));
      assert.equal(await counters.get('auth-user', dave, limits.authWindowMs), 3);
      assert.equal(await counters.get('auth-ip', '127.0.0.41', limits.authWindowMs), 3);
    } finally {
      await nc?.close();
    }
  });
});
