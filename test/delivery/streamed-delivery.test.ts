// Large stored bodies delivered as they are read from the Object Store (docs/reliability.md
// "Limits", streamed delivery: queue/body-reader.ts, transport/streamed-message.ts): ten 30 MB
// messages of an authenticated user, DKIM-signed in a pass of their own, go out at once
// through the production remote-SMTP transport to a real Postfix smtp-sink (MX from a real
// DNS server) and arrive byte for byte (sha256 at the receiver), with dkimpy verifying the
// signatures; the engine streamed every one (none loaded whole). A body whose stored object no
// longer matches its record (digest mismatch) is caught by the passes before DATA: nothing is
// sent, the recipient is deferred. An object replaced while its data is on the wire: the
// connection is closed without the final dot (the sink completes no message), transient.
// Real nats-server, engine and transport; prints the peak RSS of this process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { freePort, stopAll, waitFor } from '../harness/process.ts';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink.ts';
import { createDnsResolver } from '../../mta/src/dns.ts';
import { createRouter, retryPolicy, startDelivery, type DeliveryHandle } from '../../mta/src/delivery/index.ts';
import { createRemoteSmtpTransport, type RemoteSmtpTransport } from '../../mta/src/transport/remote-smtp.ts';
import { decodeRecord } from '../../mta/src/queue/index.ts';
import { directChunkGetter, openStoredBody, type BodySource } from '../../mta/src/queue/body-reader.ts';
import { bodyStreamName } from '../../mta/src/queue/settings.ts';
import { jsonLogger } from '../../observability/logger.ts';
import { acceptedMessage, type QueueFixture } from '../queue/queue-fixture.ts';
import { dkimKey, testBundle, testDomain } from '../transports/transport-fixtures.ts';
import { countingObserver, openDeliveryQueue, testDir } from './delivery-fixture.ts';

const MB = 1_000_000;
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const rcpt = (address: string) => ({ address, params: [] });
const rsa = dkimKey('big2026', 'rsa');
const config = testBundle({ domains: [testDomain('example.test', [rsa])] }, { keys: [{ domain: 'example.test', key: rsa }] });

// A message of `bytes` bytes, CRLF lines of printable text, different for each `id`; its first
// line names it, so it can be found in the sink's dump behind the fields added in front.
function message(id: string, bytes: number): Buffer {
  const head = Buffer.from(`X-Test-Id: ${id}\r\nFrom: <alice@example.test>\r\nTo: <bob@ok.test>\r\nSubject: large ${id}\r\n\r\n`);
  const line = Buffer.alloc(78);
  const body = Buffer.alloc(bytes - head.length);
  let seed = createHash('sha256').update(id).digest().readUInt32LE(0);
  for (let at = 0; at < body.length; at += line.length) {
    for (let i = 0; i < 76; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      line[i] = 0x21 + ((seed >>> 16) % 0x5e);
    }
    line[76] = 0x0d;
    line[77] = 0x0a;
    line.copy(body, at, 0, Math.min(line.length, body.length - at));
  }
  // End on a line end, as SMTP mail does.
  body[body.length - 2] = 0x0d;
  body[body.length - 1] = 0x0a;
  return Buffer.concat([head, body]);
}

describe('delivery - large bodies streamed from the Object Store to the remote MX', () => {
  const dir = testDir('streamed-delivery');
  let server: NatsServer;
  let dns: DnsServer;
  let q: QueueFixture;
  let sink: SmtpSink;
  let delivery: DeliveryHandle | undefined;
  let transport: RemoteSmtpTransport;
  const observer = countingObserver();
  const streamedLogs: string[] = [];

  before(async () => {
    server = await startNatsServer({ name: 'nats-streamed-delivery' });
    q = await openDeliveryQueue(server.url, { ackWaitMs: 60_000 });
    const mxPort = await freePort('127.0.0.2');
    sink = await startSmtpSink({ host: '127.0.0.2', behaviour: 'accept', dir, port: mxPort });
    dns = await startDnsServer(
      {
        local: ['test'],
        mx: { 'ok.test': [{ exchange: 'mx.ok.test', priority: 10 }] },
        hosts: { 'mx.ok.test': ['127.0.0.2'] },
        txt: { 'big2026._domainkey.example.test': rsa.record },
      },
      { logDir: dir },
    );
    transport = createRemoteSmtpTransport({
      config: () => config,
      resolver: createDnsResolver({ servers: [dns.address], timeoutMs: 2_000 }),
      mxPort,
      mxConcurrency: 10,
      ehloFallback: 'mx.stafette.test',
      transactionTimeoutMs: 240_000,
    });
  });
  after(async () => {
    await delivery?.stop(2_000);
    transport?.close();
    await q?.close();
    await server?.destroy();
    await stopAll();
  });

  const start = async () => {
    delivery = await startDelivery({
      nc: q.nc,
      settings: q.settings,
      publisher: q.publisher,
      bodyStore: q.bodyStore,
      transport,
      route: createRouter(() => config.bundle, { localMaildirRoot: '/nonexistent' }),
      hostname: 'mx.stafette.test',
      policy: retryPolicy({ delaysMs: [600_000], jitter: 0 }),
      observer,
      workers: 12,
      attemptTimeoutMs: 300_000,
      // 64 MiB: ten 30 MB bodies held whole (2 bytes per byte) would go two at a time.
      memoryBudgetBytes: 64 * MiB,
      logger: jsonLogger({
        level: 'debug',
        write: (line) => {
          if (line.includes('body streamed to the transports')) streamedLogs.push(line);
        },
      }),
    });
  };
  const submitted = (from: string, to: string) =>
    acceptedMessage({
      listener: 'submission',
      client: { ip: '127.0.0.1', helo: 'client.test', tls: null, authUser: from },
      envelope: { mailFrom: rcpt(from), rcptTo: [rcpt(to)] },
    });
  // The message as the sink got it: from its first line (smtp-sink writes its own fields and
  // our DKIM-Signature in front and an empty line after, with LF line ends: the messages here
  // have CRLF lines only, so CRLF again gives back the bytes on the wire).
  const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const received = (id: string, dumps = sink.messages()): Buffer[] =>
    dumps
      .filter((m) => m.includes(`X-Test-Id: ${id}\n`))
      .map((m) => {
        const data = Buffer.from(m, 'latin1');
        return crlf(data.subarray(data.indexOf(`X-Test-Id: ${id}\n`), data.length - 1));
      });

  test('ten 30 MB messages at once: all delivered intact (sha256 at the receiver), DKIM-signed, streamed', { timeout: 900_000 }, async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `big-${i}`);
    const sums = new Map<string, string>();
    // One at a time into the queue (the test's own memory), then delivery takes all ten at once.
    for (const id of ids) {
      const body = message(id, 30 * MB);
      sums.set(id, sha(body));
      await q.publisher.enqueue(submitted('alice@example.test', 'bob@ok.test'), body);
    }
    const rssBefore = process.memoryUsage();
    let peak = rssBefore;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      if (m.rss > peak.rss) peak = m;
    }, 20);
    try {
      await start();
      // The engine's count, not the dumps: reading 300 MB of them each time would be what is measured.
      await waitFor('ten messages delivered', () => observer.get('delivered:mx:ok.test') >= ids.length, { timeoutMs: 840_000, intervalMs: 500 });
    } finally {
      clearInterval(sampler);
    }
    const mib = (n: number) => (n / MiB).toFixed(0);
    console.log(
      `# RSS ${mib(rssBefore.rss)} -> peak ${mib(peak.rss)} MiB (heap ${mib(peak.heapUsed)}, external ${mib(peak.external)}, arrayBuffers ${mib(peak.arrayBuffers)} MiB at the peak)`,
    );
    const dumps = sink.messages();
    for (const id of ids) {
      const got = received(id, dumps);
      assert.equal(got.length, 1, `${id} delivered once`);
      assert.equal(sha(got[0]!), sums.get(id), `${id} arrived byte for byte`);
    }
    assert.equal(streamedLogs.length, ids.length, 'every body was streamed, none loaded whole');
    assert.equal(observer.get('delivered:mx:ok.test'), ids.length);
    // An independent verifier (dkimpy) over the whole message as received, signatures included.
    const verify = join(import.meta.dirname, '..', 'transports', 'dkim-verify.py');
    for (const id of ids.slice(0, 2)) {
      const dump = dumps.find((m) => m.includes(`X-Test-Id: ${id}\n`))!;
      const signed = crlf(Buffer.from(dump.slice(dump.indexOf('DKIM-Signature:'), dump.length - 1), 'latin1'));
      const out = execFileSync('/usr/bin/python3', [verify, dns.address], { input: signed, maxBuffer: 1024 }).toString();
      assert.equal(out.trim(), 'example.test big2026 pass', `${id}: dkimpy verifies the two-pass signature`);
    }
  });

  test('a stored body that no longer matches its record is caught in a first pass: nothing sent, deferred', { timeout: 300_000 }, async () => {
    const id = 'mismatch';
    const body = message(id, 5 * MB);
    const result = await q.publisher.enqueue(submitted('alice@example.test', 'bob@ok.test'), body);
    const stored = await (await jetstreamManager(q.nc)).streams.getMessage(q.settings.streamName, { seq: result.seq });
    const { record } = decodeRecord(stored!.data);
    assert.equal(record.body.kind, 'object');
    // The same size, one byte changed at the very end: only the digest tells them apart.
    const changed = Buffer.from(body);
    changed[changed.length - 3] = changed[changed.length - 3] === 0x41 ? 0x42 : 0x41;
    await q.bodyStore.putBlob({ name: record.body.kind === 'object' ? record.body.name : '' }, changed);
    const deferredBefore = observer.get('deferred:mx:ok.test');
    await waitFor('the attempt deferred', () => observer.get('deferred:mx:ok.test') > deferredBefore, { timeoutMs: 240_000, intervalMs: 500 });
    assert.equal(received(id).length, 0, 'the sink completed no message with the changed body');
  });

  test('the object replaced in the middle of DATA: the connection is closed without the final dot, transient', { timeout: 300_000 }, async () => {
    // The engine is stopped: this job is for the transport alone.
    await delivery?.stop(5_000);
    delivery = undefined;
    const id = 'cut-mid-send';
    const body = message(id, 8 * MB);
    const result = await q.publisher.enqueue(submitted('alice@example.test', 'bob@ok.test'), body);
    const stored = await (await jetstreamManager(q.nc)).streams.getMessage(q.settings.streamName, { seq: result.seq });
    const decoded = decodeRecord(stored!.data);
    const name = decoded.record.body.kind === 'object' ? decoded.record.body.name : '';
    const source = await openStoredBody(
      q.bodyStore,
      q.settings.bodyBucket,
      directChunkGetter(await jetstreamManager(q.nc), bodyStreamName(q.settings)),
      decoded,
    );
    // The transport opens the body four times (header, DKIM pass, facts pass, the send). On the send,
    // once 2 MB are read, the object is replaced for real (its chunks purged by the server), so
    // the rest of the read fails as it would if the object were lost mid-send.
    let opens = 0;
    const replaceMidway: BodySource = {
      size: source.size,
      open: () => {
        const stream = source.open();
        if (++opens < 4) return stream;
        let read = 0;
        let replaced: Promise<unknown> | null = null;
        return Readable.from(
          (async function* () {
            for await (const chunk of stream as AsyncIterable<Buffer>) {
              read += chunk.length;
              yield chunk;
              if (read >= 2 * MB && replaced === null) {
                replaced = q.bodyStore.putBlob({ name }, Buffer.from(body));
                await replaced;
              }
            }
          })(),
        );
      },
    };
    const [outcome] = await transport.deliver({
      record: decoded.record,
      body: replaceMidway,
      destination: { kind: 'mx', domain: 'ok.test' },
      recipients: ['bob@ok.test'],
      signal: AbortSignal.timeout(120_000),
    });
    assert.equal(opens, 4, 'header read, signed, measured, then sent');
    assert.equal(outcome!.status, 'transient', outcome!.reason);
    assert.match(outcome!.reason, /reading the message: .*does not match its size or sha256/);
    assert.equal(received(id).length, 0, 'the sink completed no message from the cut body');
  });
});
