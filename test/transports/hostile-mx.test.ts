// A hostile or broken next hop (docs/reliability.md §3 scenario 38, F7): a 1 MB reply line, endless
// "250-" lines, one byte at a time, a reply code 999. Each attempt ends as a transient
// outcome within its deadline, and we stop reading long before the peer stops writing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { freePort, stopAll } from '../harness/process.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp-receivers.ts';
import { testAttempt, testBundle, testDomain, testMessage } from './transport-fixtures.ts';

type Behaviour = (socket: Socket, written: { bytes: number }) => void;

const behaviours: Record<string, { host: string; act: Behaviour; written: { bytes: number } }> = {};
const servers: Server[] = [];
const sockets = new Set<Socket>();
let dns: DnsServer;
let transport: RemoteSmtpTransport;
let good: SmtpReceiver;
let badTlsDelivered = 0;

function write(socket: Socket, written: { bytes: number }, text: string | Buffer): boolean {
  if (socket.destroyed) return false;
  written.bytes += text.length;
  return socket.write(text);
}

/** Answers each command line with `answer(line)`. */
function lineServer(answer: (line: string) => string | null): Behaviour {
  return (socket, written) => {
    write(socket, written, '220 hostile ESMTP\r\n');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let i: number;
      while ((i = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        const reply = answer(line);
        if (reply) write(socket, written, reply);
      }
    });
  };
}

const setups: Record<string, { host: string; act: Behaviour }> = {
  bigline: { host: '127.0.0.20', act: lineServer((l) => (/^EHLO/i.test(l) ? `250 ${'x'.repeat(1024 * 1024)}\r\n` : null)) },
  endless: {
    host: '127.0.0.21',
    act: (socket, written) => {
      write(socket, written, '220 hostile ESMTP\r\n');
      socket.once('data', () => {
        const pump = () => {
          while (!socket.destroyed && written.bytes < 50 * 1024 * 1024) {
            if (!write(socket, written, '250-PIPELINING PIPELINING PIPELINING PIPELINING\r\n')) return socket.once('drain', pump);
          }
        };
        pump();
      });
    },
  },
  slow: {
    host: '127.0.0.22',
    act: (socket, written) => {
      const text = '220 slow ESMTP\r\n';
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || i >= text.length) return clearInterval(timer);
        write(socket, written, text[i++]!);
      }, 500);
      socket.on('close', () => clearInterval(timer));
    },
  },
  // Takes the message, then drops the connection instead of answering the final dot.
  dropafterdata: {
    host: '127.0.0.25',
    act: (socket, written) => {
      write(socket, written, '220 flaky ESMTP\r\n');
      let inData = false;
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        if (inData) {
          if (buffered.includes('\r\n.\r\n')) socket.destroy();
          return;
        }
        let i: number;
        while (!inData && (i = buffered.indexOf('\r\n')) >= 0) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 2);
          if (/^EHLO/i.test(line)) write(socket, written, '250-flaky\r\n250 8BITMIME\r\n');
          else if (/^DATA/i.test(line)) {
            write(socket, written, '354 go ahead\r\n');
            inData = true;
          } else write(socket, written, '250 ok\r\n');
        }
      });
    },
  },
  // Offers STARTTLS, then answers the handshake with plaintext junk; in plaintext it works.
  badtls: {
    host: '127.0.0.26',
    act: (socket, written) => {
      write(socket, written, '220 badtls ESMTP\r\n');
      let inData = false;
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        let i: number;
        while ((i = buffered.indexOf('\r\n')) >= 0) {
          const line = buffered.slice(0, i);
          buffered = buffered.slice(i + 2);
          if (inData) {
            if (line === '.') {
              inData = false;
              badTlsDelivered++;
              write(socket, written, '250 2.0.0 queued in plaintext\r\n');
            }
            continue;
          }
          if (/^EHLO/i.test(line)) write(socket, written, '250-badtls\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
          else if (/^STARTTLS/i.test(line)) {
            write(socket, written, '220 go ahead\r\n');
            write(socket, written, 'this is not TLS at all\r\n\r\n\r\n');
          } else if (/^DATA/i.test(line)) {
            inData = true;
            write(socket, written, '354 go ahead\r\n');
          } else if (/^QUIT/i.test(line)) write(socket, written, '221 bye\r\n');
          else write(socket, written, '250 ok\r\n');
        }
      });
    },
  },
  code999: {
    host: '127.0.0.23',
    act: lineServer((l) =>
      /^EHLO/i.test(l)
        ? '250-hostile\r\n250 PIPELINING\r\n'
        : /^MAIL/i.test(l)
          ? '999 what is this\r\n'
          : /^RCPT/i.test(l)
            ? '250 ok\r\n'
            : /^DATA/i.test(l)
              ? '554 no\r\n'
              : /^QUIT/i.test(l)
                ? '221 bye\r\n'
                : '250 ok\r\n',
    ),
  },
};

before(async () => {
  const port = await freePort('127.0.0.20');
  for (const [name, setup] of Object.entries(setups)) {
    const written = { bytes: 0 };
    behaviours[name] = { ...setup, written };
    const server = createServer((socket) => {
      socket.on('error', () => {});
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      setup.act(socket, written);
    });
    await new Promise<void>((resolve) => server.listen(port, setup.host, resolve));
    servers.push(server);
  }
  good = await startSmtpReceiver({ host: '127.0.0.24', port });
  dns = await startDnsServer({
    local: ['test'],
    mx: {
      ...Object.fromEntries(Object.keys(setups).map((name) => [`${name}.test`, [{ exchange: `mx.${name}.test`, priority: 10 }]])),
      'slowfirst.test': [
        { exchange: 'mx.slow.test', priority: 10 },
        { exchange: 'mx.good.test', priority: 20 },
      ],
      'dropfirst.test': [
        { exchange: 'mx.dropafterdata.test', priority: 10 },
        { exchange: 'mx.good.test', priority: 20 },
      ],
    },
    hosts: { ...Object.fromEntries(Object.entries(setups).map(([name, s]) => [`mx.${name}.test`, [s.host]])), 'mx.good.test': ['127.0.0.24'] },
  });
  const config = testBundle({ domains: [testDomain('example.test')] });
  transport = createRemoteSmtpTransport({
    config: () => config,
    resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 1_000, tries: 1 }),
    mxPort: port,
    connectTimeoutMs: 2_000,
    greetingTimeoutMs: 10_000,
    socketTimeoutMs: 10_000,
    transactionTimeoutMs: 1_000,
  });
});

after(async () => {
  transport?.close();
  await good?.stop();
  for (const socket of sockets) socket.destroy();
  for (const s of servers) {
    await new Promise((resolve) => s.close(resolve));
  }
  await stopAll();
});

async function attempt(name: string, deadlineMs = 5_000) {
  const started = Date.now();
  const [outcome] = await transport.deliver(
    testAttempt(
      { kind: 'mx', domain: `${name}.test` },
      'alice@example.test',
      [`x@${name}.test`],
      testMessage('alice@example.test', `x@${name}.test`, name, 'hi\r\n'),
      AbortSignal.timeout(deadlineMs),
    ),
  );
  return { outcome: outcome!, elapsed: Date.now() - started };
}

test('a 1 MB reply line is cut off at the reply cap and the attempt is deferred', async () => {
  const { outcome } = await attempt('bigline');
  assert.equal(outcome.status, 'transient');
  assert.match(outcome.reason, /exceeds maximum allowed size|ECONNECTION|EPROTOCOL/);
});

test('endless continuation lines are cut off: we stop reading long before the peer stops writing', async () => {
  const { outcome } = await attempt('endless');
  assert.equal(outcome.status, 'transient');
  assert.ok(behaviours.endless!.written.bytes < 5 * 1024 * 1024, `peer wrote ${behaviours.endless!.written.bytes} bytes before we hung up`);
});

test('a server that trickles one byte every 500 ms is abandoned at the transaction deadline', async () => {
  const { outcome, elapsed } = await attempt('slow', 1_500);
  assert.equal(outcome.status, 'transient');
  assert.ok(elapsed < 4_000, `took ${elapsed} ms`);
});

test('a reply code 999 is not success and not a bounce: it is transient', async () => {
  const { outcome } = await attempt('code999');
  assert.equal(outcome.status, 'transient');
  assert.equal(outcome.reply.code, 451);
});

test('a host that runs out its transaction deadline before the message is sent is skipped for the next MX', async () => {
  const { outcome, elapsed } = await attempt('slowfirst', 5_000);
  assert.deepEqual([outcome.status, outcome.remoteMta], ['delivered', 'mx.good.test']);
  assert.ok(elapsed < 4_000, `took ${elapsed} ms`);
  assert.equal(good.messages.length, 1);
});

test('a connection lost after the data went out is deferred, not re-sent to the next MX (no duplicate now)', async () => {
  const before = good.messages.length;
  const { outcome } = await attempt('dropfirst');
  assert.deepEqual([outcome.status, outcome.reply.enhanced], ['transient', '4.4.2']);
  assert.equal(good.messages.length, before);
});

test('toward an MX, a failed STARTTLS handshake is retried once in plaintext (opportunistic TLS)', async () => {
  const { outcome } = await attempt('badtls');
  assert.deepEqual([outcome.status, outcome.reply.code], ['delivered', 250]);
  assert.equal(badTlsDelivered, 1);
});
