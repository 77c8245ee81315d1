// Remote delivery end to end on loopback: a real DNS server (dnsmasq) serves MX/A/TXT records
// for several test domains; real SMTP servers (smtp-server) listen on 127.0.0.x addresses at
// one outbound port; the remote transport resolves, connects, signs and delivers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { startSmtpReceiver, startWireTap, type SmtpReceiver, type WireTap } from '../harness/smtp-receivers.ts';
import { dkimKey, testAttempt, testBundle, testDomain, testMessage, testRecord } from './transport-fixtures.ts';

const rsa = dkimKey('rsa2026', 'rsa');
const ed = dkimKey('ed2026', 'ed25519');
const config = testBundle(
  { domains: [testDomain('example.test', [rsa, ed])], relays: [] },
  {
    keys: [
      { domain: 'example.test', key: rsa },
      { domain: 'example.test', key: ed },
    ],
  },
);

let dns: DnsServer;
let port: number;
let mx1: SmtpReceiver; // a.test preference 10
let mx2: SmtpReceiver; // a.test preference 20, b.test backup, c.test implicit MX
let ascii: SmtpReceiver; // no SMTPUTF8, no 8BITMIME
let tapped: SmtpReceiver;
let tap: WireTap;
let transport: RemoteSmtpTransport;

before(async () => {
  port = await freePort('127.0.0.2');
  mx1 = await startSmtpReceiver({
    host: '127.0.0.2',
    port,
    rcptReply: (a) => (a.startsWith('nobody@') ? '550 5.1.1 no such user here' : a.startsWith('full@') ? '452 4.2.2 mailbox full' : null),
  });
  mx2 = await startSmtpReceiver({ host: '127.0.0.3', port });
  ascii = await startSmtpReceiver({ host: '127.0.0.5', port, hide: ['SMTPUTF8', '8BITMIME'] });
  tapped = await startSmtpReceiver({ host: '127.0.0.6', port: await freePort('127.0.0.6'), hide: ['STARTTLS'] });
  tap = await startWireTap('127.0.0.6', { host: '127.0.0.6', port: tapped.port }, port);
  dns = await startDnsServer({
    local: ['test'],
    mx: {
      'a.test': [
        { exchange: 'mx1.a.test', priority: 10 },
        { exchange: 'mx2.a.test', priority: 20 },
      ],
      'b.test': [
        { exchange: 'dead.b.test', priority: 10 },
        { exchange: 'mx2.a.test', priority: 20 },
      ],
      'null.test': [{ exchange: '.', priority: 0 }],
      'dead.test': [{ exchange: 'dead.b.test', priority: 10 }],
      'ascii.test': [{ exchange: 'mx.ascii.test', priority: 10 }],
      'tap.test': [{ exchange: 'mx.tap.test', priority: 10 }],
      'limit.test': [{ exchange: 'mx.limit.test', priority: 10 }],
    },
    hosts: {
      'mx1.a.test': ['127.0.0.2'],
      'mx2.a.test': ['127.0.0.3'],
      'dead.b.test': ['127.0.0.4'],
      'c.test': ['127.0.0.3'],
      'mx.ascii.test': ['127.0.0.5'],
      'mx.tap.test': ['127.0.0.6'],
      'mx.limit.test': ['127.0.0.7'],
    },
    txt: {
      'rsa2026._domainkey.example.test': rsa.record,
      'ed2026._domainkey.example.test': ed.record,
    },
  });
  transport = createRemoteSmtpTransport({
    config: () => config,
    resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }),
    mxPort: port,
    connectTimeoutMs: 2_000,
    greetingTimeoutMs: 2_000,
    socketTimeoutMs: 5_000,
    pool: { idleMs: 2_000 },
  });
});

after(async () => {
  transport?.close();
  for (const r of [mx1, mx2, ascii, tapped]) await r?.stop();
  await tap?.stop();
  await stopAll();
});

const body = (subject: string, text = 'Hello.\r\n') => testMessage('Alice <alice@example.test>', 'someone@a.test', subject, text);

describe('remote delivery through MX records', () => {
  test('goes to the most preferred MX with per-recipient outcomes, EHLO with our hostname, over STARTTLS', async () => {
    const before = mx1.messages.length;
    const outcomes = await transport.deliver(
      testAttempt({ kind: 'mx', domain: 'a.test' }, 'alice@example.test', ['bob@a.test', 'nobody@a.test', 'full@a.test'], body('first')),
    );
    assert.deepEqual(
      outcomes.map((o) => [o.recipient, o.status, o.reply.code, o.reply.enhanced]),
      [
        ['bob@a.test', 'delivered', 250, '2.0.0'],
        ['nobody@a.test', 'permanent', 550, '5.1.1'],
        ['full@a.test', 'transient', 452, '4.2.2'],
      ],
    );
    assert.equal(outcomes[0]!.remoteMta, 'mx1.a.test');
    const got = mx1.messages.slice(before);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.to, ['bob@a.test']);
    assert.equal(got[0]!.helo, 'mx.example.test');
    assert.equal(got[0]!.secure, true);
  });

  test('the message is DKIM-signed (RSA and Ed25519) and dkimpy verifies it through the DNS server', async () => {
    const before = mx1.messages.length;
    await transport.deliver(
      testAttempt({ kind: 'mx', domain: 'a.test' }, 'alice@example.test', ['bob@a.test'], body('signed', 'Grüße, bare LF here\nand a line\r\n')),
    );
    const data = mx1.messages[before]!.data;
    const verify = join(import.meta.dirname, 'dkim-verify.py');
    const out = execFileSync('/usr/bin/python3', [verify, dns.address], { input: data }).toString();
    assert.deepEqual(out.trim().split('\n').sort(), ['example.test ed2026 pass', 'example.test rsa2026 pass']);
  });

  test('mail that came in unauthenticated on MX is relayed unsigned, even with our domain in From', async () => {
    const before = mx1.messages.length;
    const forged = body('forged');
    const attempt = {
      ...testAttempt({ kind: 'mx', domain: 'a.test' }, 'alice@example.test', ['bob@a.test'], forged),
      record: testRecord('alice@example.test', ['bob@a.test'], forged, { listener: 'mx', authUser: null }),
    };
    const [o] = await transport.deliver(attempt);
    assert.equal(o!.status, 'delivered');
    assert.doesNotMatch(mx1.messages[before]!.data.toString('latin1'), /^DKIM-Signature:/im);
  });

  test('several messages to one destination share one connection', async () => {
    const connections = mx1.connections;
    for (const subject of ['reuse 1', 'reuse 2', 'reuse 3']) {
      const [outcome] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'a.test' }, 'alice@example.test', ['bob@a.test'], body(subject)));
      assert.equal(outcome!.status, 'delivered');
    }
    assert.ok(mx1.connections - connections <= 1, `opened ${mx1.connections - connections} connections`);
  });

  test('an unreachable MX is skipped for the next one', async () => {
    const before = mx2.messages.length;
    const [outcome] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'b.test' }, 'alice@example.test', ['x@b.test'], body('backup')));
    assert.equal(outcome!.status, 'delivered');
    assert.equal(outcome!.remoteMta, 'mx2.a.test');
    assert.equal(mx2.messages.length, before + 1);
  });

  test('a domain without MX records gets its A record as the implicit MX', async () => {
    const [outcome] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'c.test' }, 'alice@example.test', ['x@c.test'], body('implicit')));
    assert.deepEqual([outcome!.status, outcome!.remoteMta], ['delivered', 'c.test']);
  });

  test('null MX bounces 556 5.1.10, NXDOMAIN bounces 5.1.2, an unanswerable lookup defers 4.4.3', async () => {
    const status = async (domain: string) => {
      const [o] = await transport.deliver(testAttempt({ kind: 'mx', domain }, 'alice@example.test', [`x@${domain}`], body('dns')));
      return [o!.status, o!.reply.code, o!.reply.enhanced];
    };
    assert.deepEqual(await status('null.test'), ['permanent', 556, '5.1.10']);
    assert.deepEqual(await status('missing.test'), ['permanent', 550, '5.1.2']);
    assert.deepEqual(await status('outside.example'), ['transient', 451, '4.4.3']);
  });

  test('no reachable host defers with 4.4.1 and names each host in the reason', async () => {
    const [o] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'dead.test' }, 'alice@example.test', ['x@dead.test'], body('dead')));
    assert.deepEqual([o!.status, o!.reply.code, o!.reply.enhanced], ['transient', 451, '4.4.1']);
    assert.match(o!.reason, /dead\.b\.test\[127\.0\.0\.4\]/);
  });

  test('SMTPUTF8 mail to a next hop without SMTPUTF8 bounces 5.6.7; 8-bit mail without 8BITMIME bounces 5.6.3', async () => {
    const [utf8] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'ascii.test' }, 'alice@example.test', ['jörg@ascii.test'], body('utf8')));
    assert.deepEqual([utf8!.status, utf8!.reply.code, utf8!.reply.enhanced], ['permanent', 553, '5.6.7']);
    const [eight] = await transport.deliver(
      testAttempt({ kind: 'mx', domain: 'ascii.test' }, 'alice@example.test', ['x@ascii.test'], body('8bit', 'Grüße\r\n')),
    );
    assert.deepEqual([eight!.status, eight!.reply.enhanced], ['permanent', '5.6.3']);
    const [plain] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'ascii.test' }, 'alice@example.test', ['x@ascii.test'], body('7bit')));
    assert.equal(plain!.status, 'delivered');
    assert.equal(ascii.messages.length, 1);
  });

  test('UTF-8 in the header section is declared with SMTPUTF8, 8-bit content with BODY=8BITMIME', async () => {
    const before = mx1.messages.length;
    const message = testMessage('Jörg <alice@example.test>', 'bob@a.test', 'Grüße', 'Straße\r\n');
    const [o] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'a.test' }, 'alice@example.test', ['bob@a.test'], message));
    assert.equal(o!.status, 'delivered');
    const params = mx1.messages[before]!.mailParams;
    assert.equal(params.SMTPUTF8, true);
    assert.equal(params.BODY, '8BITMIME');
  });

  test('at most mxConcurrency connections per destination at once; the rest wait for a slot', async () => {
    const limited = createRemoteSmtpTransport({
      config: () => config,
      resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }),
      mxPort: port,
      mxConcurrency: 2,
      pool: { idleMs: 1_000 },
    });
    const receiver = await startSmtpReceiver({ host: '127.0.0.7', port });
    try {
      const attempts = Array.from({ length: 8 }, (_, i) =>
        limited.deliver(testAttempt({ kind: 'mx', domain: 'limit.test' }, 'alice@example.test', [`r${i}@limit.test`], body(`limit ${i}`))),
      );
      const outcomes = (await Promise.all(attempts)).flat();
      assert.deepEqual(new Set(outcomes.map((o) => o.status)), new Set(['delivered']));
      assert.equal(receiver.messages.length, 8);
      assert.ok(receiver.peakOpen <= 2, `peak of ${receiver.peakOpen} connections`);
    } finally {
      limited.close();
      await receiver.stop();
    }
  });

  test('no bare CR or LF goes out on the wire, whatever the stored body holds (F2, scenario 18); the envelope is pipelined', async () => {
    const smuggle = Buffer.from('From: alice@example.test\r\nTo: x@tap.test\r\nSubject: smuggle\r\n\r\nline\r.\r\nMAIL FROM:<evil@x.test>\r\nbare\n.\nend\r\n');
    const [o] = await transport.deliver(testAttempt({ kind: 'mx', domain: 'tap.test' }, 'alice@example.test', ['x@tap.test'], smuggle));
    assert.equal(o!.status, 'delivered');
    const wire = Buffer.concat(tap.sent.flat()).toString('latin1');
    assert.ok(wire.includes('Subject: smuggle'), 'the message went through the tap');
    assert.doesNotMatch(wire, /\r(?!\n)/, 'bare CR on the wire');
    assert.doesNotMatch(wire, /(?<!\r)\n/, 'bare LF on the wire');
    assert.equal(tapped.messages.length, 1, 'one message, nothing smuggled');
    // PIPELINING (offered by the receiver): the envelope and DATA leave in one write.
    const envelopeChunk = tap.sent
      .flat()
      .map((c) => c.toString('latin1'))
      .find((c) => c.includes('MAIL FROM:'));
    assert.match(envelopeChunk ?? '', /MAIL FROM:<alice@example\.test>[^]*RCPT TO:<x@tap\.test>[^]*DATA\r\n/);
    assert.equal(tapped.messages[0]!.from, 'alice@example.test');
  });
});
