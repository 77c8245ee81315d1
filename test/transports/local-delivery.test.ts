// Local delivery targets against real servers: LMTP into Dovecot (read back over IMAP with
// imaplib), maildir written atomically, and a signed webhook received by a real HTTP server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLmtpTransport } from '../../mta/src/transport/lmtp.ts';
import { createMaildirTransport } from '../../mta/src/transport/maildir.ts';
import { planRecipients } from '../../mta/src/delivery/routing.ts';
import { createTransportSet } from '../../mta/src/transport/transport-set.ts';
import { createWebhookTransport } from '../../mta/src/transport/webhook.ts';
import { startDovecot, type Dovecot } from '../harness/dovecot.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { startSmtpReceiver } from '../harness/smtp-receivers.ts';
import { testAttempt, testBundle, testDomain, testMessage } from './transport-fixtures.ts';

let dovecot: Dovecot;

before(async () => {
  dovecot = await startDovecot([
    { address: 'alice@example.test', password: 'alice-pw' },
    { address: 'bob@example.test', password: 'bob-pw' },
  ]);
});

after(async () => {
  await stopAll();
});

function imapFetch(user: string, password: string): string[] {
  const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'imap-fetch.py'), dovecot.host, String(dovecot.imapPort), user, password]).toString();
  return out.length === 0 ? [] : out.split('\n=====\n');
}

describe('LMTP into Dovecot', () => {
  test('routing sends mailboxes to Dovecot; LMTP answers per recipient; the mail reads back over IMAP', async () => {
    const config = testBundle({
      domains: [testDomain('example.test')],
      mailboxes: ['alice', 'bob', 'ghost'].map((name) => ({
        address: `${name}@example.test`,
        source: { namespace: 'mail', name },
        login: false,
        sendAs: [],
        delivery: { type: 'lmtp' as const, host: dovecot.host, port: dovecot.lmtpPort },
      })),
    });
    const plan = planRecipients(config.bundle, 'sender@far.test', ['alice@example.test', 'bob+news@example.test', 'ghost@example.test'], {
      localMaildirRoot: '/nonexistent',
    });
    assert.equal(plan.groups.length, 1);
    const group = plan.groups[0]!;
    const transport = createTransportSet({ lmtp: createLmtpTransport({ lhloName: 'mta.example.test' }) });
    const recipients = group.deliveries.map((d) => d.address);
    assert.deepEqual(recipients, ['alice@example.test', 'bob@example.test', 'ghost@example.test']);
    const message = testMessage('Sender <sender@far.test>', 'alice@example.test', 'Over LMTP', 'Hello from Stafette.\r\n.leading dot\r\n');
    const outcomes = await transport.deliver(testAttempt(group.destination, 'sender@far.test', recipients, message));
    assert.deepEqual(
      outcomes.map((o) => [o.recipient, o.status, o.reply.code]),
      [
        ['alice@example.test', 'delivered', 250],
        ['bob@example.test', 'delivered', 250],
        ['ghost@example.test', 'permanent', 550],
      ],
    );
    const inbox = imapFetch('alice@example.test', 'alice-pw');
    assert.equal(inbox.length, 1);
    assert.match(inbox[0]!, /^Subject: Over LMTP$/m);
    assert.match(inbox[0]!, /^Return-Path: <sender@far.test>$/m);
    assert.match(inbox[0]!, /Hello from Stafette\.\r?\n\.leading dot/);
    assert.equal(imapFetch('bob@example.test', 'bob-pw').length, 1);
  });

  test('LMTP replies after the data count per recipient: one delivered, one over quota', async () => {
    const server = await startSmtpReceiver({
      host: '127.0.0.1',
      lmtp: true,
      hide: ['STARTTLS'],
      lmtpDataReply: (a) => (a.startsWith('full@') ? '452 4.2.2 Mailbox over quota' : null),
    });
    try {
      const outcomes = await createLmtpTransport().deliver(
        testAttempt(
          { kind: 'lmtp', host: server.host, port: server.port },
          's@far.test',
          ['ok@example.test', 'full@example.test'],
          testMessage('s@far.test', 'ok@example.test', 'quota', 'x\r\n'),
        ),
      );
      assert.deepEqual(
        outcomes.map((o) => [o.recipient, o.status, o.reply.code, o.reply.enhanced]),
        [
          ['ok@example.test', 'delivered', 250, '2.0.0'],
          ['full@example.test', 'transient', 452, '4.2.2'],
        ],
      );
      assert.deepEqual(
        server.messages.map((m) => m.to),
        [['ok@example.test']],
      );
    } finally {
      await server.stop();
    }
  });

  test('messages to one LMTP server share a connection; one the server closed while idle is replaced', async () => {
    const server = await startSmtpReceiver({ host: '127.0.0.1', lmtp: true, hide: ['STARTTLS'] });
    const transport = createLmtpTransport();
    const send = (n: number) =>
      transport.deliver(
        testAttempt(
          { kind: 'lmtp', host: server.host, port: server.port },
          's@far.test',
          [`u${n}@example.test`],
          testMessage('s@far.test', `u${n}@example.test`, `m${n}`, 'x\r\n'),
        ),
      );
    try {
      for (let n = 0; n < 3; n++) assert.equal((await send(n))[0]!.status, 'delivered');
      assert.equal(server.connections, 1);
      await server.stop();
      const again = await startSmtpReceiver({ host: '127.0.0.1', port: server.port, lmtp: true, hide: ['STARTTLS'] });
      try {
        assert.equal((await send(3))[0]!.status, 'delivered');
        assert.deepEqual(
          again.messages.map((m) => m.to),
          [['u3@example.test']],
        );
      } finally {
        await again.stop();
      }
    } finally {
      transport.close();
      await server.stop().catch(() => undefined);
    }
  });

  test('an unreachable LMTP server is transient', async () => {
    const port = await freePort();
    const [o] = await createLmtpTransport().deliver(
      testAttempt({ kind: 'lmtp', host: '127.0.0.1', port }, 's@far.test', ['alice@example.test'], testMessage('s@far.test', 'a', 'x', 'y\r\n')),
    );
    assert.deepEqual([o!.status, o!.reply.enhanced], ['transient', '4.4.1']);
  });
});

describe('maildir', () => {
  test('a message lands in new/ whole, with nothing left in tmp/, one file per delivery', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'stafette-maildir-')), 'alice');
    const transport = createMaildirTransport();
    const message = testMessage('s@far.test', 'alice@example.test', 'To maildir', 'Line one\r\nLine two\r\n');
    for (let i = 0; i < 2; i++) {
      const [o] = await transport.deliver(testAttempt({ kind: 'maildir', path }, 's@far.test', ['alice@example.test'], message));
      assert.equal(o!.status, 'delivered');
    }
    assert.deepEqual(readdirSync(join(path, 'tmp')), []);
    assert.deepEqual(readdirSync(join(path, 'cur')), []);
    const files = readdirSync(join(path, 'new'));
    assert.equal(files.length, 2);
    assert.notEqual(files[0], files[1]);
    const text = readFileSync(join(path, 'new', files[0]!), 'utf8');
    assert.match(text, /^Return-Path: <s@far\.test>\nDelivered-To: alice@example\.test\n/);
    assert.match(text, /Line one\nLine two\n$/);
    assert.ok(!text.includes('\r'), 'maildir files use LF line ends');
    assert.match(files[0]!, new RegExp(`,S=${Buffer.byteLength(text)}$`));
  });

  test('a maildir that cannot be written is transient', async () => {
    // A regular file where the maildir's parent directory should be: ENOTDIR.
    const file = join(mkdtempSync(join(tmpdir(), 'stafette-maildir-')), 'not-a-directory');
    writeFileSync(file, '');
    const [o] = await createMaildirTransport().deliver(
      testAttempt({ kind: 'maildir', path: join(file, 'alice') }, 's@far.test', ['a@example.test'], Buffer.from('x\r\n')),
    );
    assert.equal(o!.status, 'transient');
  });
});

describe('webhook', () => {
  let server: Server;
  let url: string;
  let status = 200;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = status;
        res.end('thanks');
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${port}/inbound`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('the raw message and envelope are POSTed with an HMAC the receiver can check', async () => {
    const key = 'webhook-secret-key';
    const transport = createWebhookTransport({ keyFor: (m) => (m === 'hook@example.test' ? key : undefined), now: () => new Date('2026-11-22T12:00:00Z') });
    const message = testMessage('s@far.test', 'hook@example.test', 'To a webhook', 'Payload\r\n');
    const [o] = await transport.deliver(testAttempt({ kind: 'webhook', url, mailbox: 'hook@example.test' }, 's@far.test', ['hook@example.test'], message));
    assert.equal(o!.status, 'delivered');
    const got = received.at(-1)!;
    const payload = JSON.parse(got.body) as { sender: string; recipients: string[]; mailbox: string; message: string };
    assert.deepEqual([payload.sender, payload.recipients, payload.mailbox], ['s@far.test', ['hook@example.test'], 'hook@example.test']);
    assert.deepEqual(Buffer.from(payload.message, 'base64'), message);
    // What a receiver does: recompute the HMAC over "<t>.<raw body>" and compare.
    const header = String(got.headers['stafette-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    assert.equal(t, String(Date.parse('2026-11-22T12:00:00Z') / 1000));
    assert.equal(v1, createHmac('sha256', key).update(`${t}.${got.body}`).digest('hex'));
  });

  test('a non-2xx answer is transient', async () => {
    status = 503;
    const transport = createWebhookTransport({ keyFor: () => 'k' });
    const [o] = await transport.deliver(
      testAttempt({ kind: 'webhook', url, mailbox: 'hook@example.test' }, 's@far.test', ['hook@example.test'], Buffer.from('x\r\n')),
    );
    status = 200;
    assert.deepEqual([o!.status, o!.reply.text], ['transient', 'Webhook answered HTTP 503']);
  });
});
