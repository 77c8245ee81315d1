// PROXY protocol (issue 14 item 5, mta/src/smtp/proxy-protocol.ts) against the real intake and a
// real nats-server: the mx listener trusts 127.0.0.0/8 (where the test connects from), the
// submission listener only 10.0.0.0/8. A v1 or v2 header from the trusted range carries the
// client address into Received (and so into SPF and the per-client limits, which read the same
// session address); a PROXY line from an untrusted address gets 421 4.7.0 and the connection closes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../harness/process.ts';
import { queueIdOf, startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';

// A byte string as a transcript `c!` argument (\r \n \0 \t \\ escaped, other bytes as latin1).
function raw(bytes: Buffer): string {
  const escapes: Record<number, string> = { 0x0d: '\\r', 0x0a: '\\n', 0x00: '\\0', 0x09: '\\t', 0x5c: '\\\\' };
  return [...bytes].map((b) => escapes[b] ?? String.fromCharCode(b)).join('');
}

function proxyV2Tcp4(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  const head = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(srcPort, 0);
  ports.writeUInt16BE(dstPort, 2);
  return Buffer.concat([head, Buffer.from(src.split('.').map(Number)), Buffer.from(dst.split('.').map(Number)), ports]);
}

const mail = `
s: 220 mx.example.com ESMTP Stafette
c: EHLO client.example
s: 250 *
c: MAIL FROM:<sender@example.org>
s: 250 2.1.0 Accepted
c: RCPT TO:<bob@example.com>
s: 250 2.1.5 Accepted
c: DATA
s: 354 *
c: Subject: through a balancer
c:
c: hello
c: .
s: 250 2.6.0 Ok: queued as *
c: QUIT
s: 221 *`;

describe('abuse - PROXY protocol', () => {
  let f: IntakeFixture;

  before(async () => {
    f = await startIntakeFixture({
      name: 'nats-abuse-proxy',
      listeners: { mx: { proxyFrom: ['127.0.0.0/8'] }, submission: { proxyFrom: ['10.0.0.0/8'] } },
    });
  });
  after(async () => {
    await f?.close();
    await stopAll();
  });

  async function receivedOf(log: readonly string[]): Promise<string> {
    const stored = await f.stored(queueIdOf(log.join('\n')));
    return /^Received: [^]*?(?=\r\n\S)/.exec(stored.body.toString('latin1'))?.[0] ?? '';
  }

  test('v1 from a trusted range: the client address of the header is in Received', async () => {
    const { log } = await playTranscript(f.mx, `c! PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\\r\\n${mail}`);
    const received = await receivedOf(log);
    assert.match(received, /\[203\.0\.113\.7\]/, received);
    assert.doesNotMatch(received, /127\.0\.0\.1/, received);
  });

  test('v2 (binary) from a trusted range: the client address of the header is in Received', async () => {
    const { log } = await playTranscript(f.mx, `c! ${raw(proxyV2Tcp4('198.51.100.9', '127.0.0.1', 40000, 25))}${mail}`);
    const received = await receivedOf(log);
    assert.match(received, /\[198\.51\.100\.9\]/, received);
  });

  test('from an untrusted address a PROXY header is refused with 421 4.7.0 and the connection closed', async () => {
    await playTranscript(
      f.submission,
      `
c: PROXY TCP4 203.0.113.7 127.0.0.1 40000 587
s: 220 *
s: 421 4.7.0 PROXY protocol not accepted from your address
closed`,
    );
  });
});
