import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as packet from 'dns-packet';
import { createDnsClient } from './dns-client.ts';

// A scripted responder on loopback (UDP and TCP on one port), answering from a table: enough to
// pin the client's wire behaviour (TTL, SOA, truncation, ids). The real server is dnsmasq, in
// test/dns/.
type Script = (q: packet.Question, tcp: boolean) => Partial<packet.Packet> & { rcode?: string; spoof?: boolean };

async function responder(script: Script): Promise<{ address: string; udp: Socket; tcp: Server }> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const reply = (query: packet.DecodedPacket, tcp: boolean): Buffer => {
    const q = query.questions![0]!;
    const { rcode, spoof, ...rest } = script(q, tcp);
    const flags = (rcode === 'NXDOMAIN' ? 3 : rcode === 'SERVFAIL' ? 2 : 0) | (rest.flags ?? 0);
    return packet.encode({ type: 'response', id: spoof ? (query.id! + 1) % 65536 : query.id!, questions: [q], ...rest, flags });
  };
  udp.on('message', (msg, rinfo) => udp.send(reply(packet.decode(msg), false), rinfo.port, rinfo.address));
  const tcp = createServer((socket) =>
    socket.on('data', (data) => {
      socket.end(packet.streamEncode(packet.decode(reply(packet.streamDecode(data) as packet.DecodedPacket, true))));
    }),
  );
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${port}`, udp, tcp };
}

describe('DNS client', () => {
  let server: Awaited<ReturnType<typeof responder>>;
  let servfail: Awaited<ReturnType<typeof responder>>;
  const soa = { type: 'SOA' as const, name: 'example.test', ttl: 600, data: { mname: 'ns.example.test', rname: 'h.example.test', minimum: 120 } };

  before(async () => {
    server = await responder((q, tcp) => {
      if (q.name === 'big.example.test' && !tcp) return { flags: packet.TRUNCATED_RESPONSE };
      if (q.name === 'big.example.test') return { answers: [{ type: 'TXT', name: q.name, ttl: 30, data: ['x'.repeat(255), 'y'.repeat(100)] }] };
      if (q.name === 'spoofed.example.test') return { spoof: true, answers: [{ type: 'A', name: q.name, ttl: 5, data: '192.0.2.66' }] };
      if (q.name === 'missing.example.test') return { rcode: 'NXDOMAIN', authorities: [soa] };
      if (q.type === 'MX') return { answers: [{ type: 'MX', name: q.name, ttl: 300, data: { preference: 10, exchange: 'mx.example.test' } }] };
      if (q.type === 'TXT') {
        return {
          answers: [
            { type: 'TXT', name: q.name, ttl: 3600, data: ['v=spf1 ', '-all'] },
            { type: 'TXT', name: q.name, ttl: 60, data: 'other' },
          ],
        };
      }
      return { authorities: [soa] }; // NODATA
    });
    servfail = await responder(() => ({ rcode: 'SERVFAIL' }));
  });
  after(() => {
    for (const s of [server, servfail]) {
      s.udp.close();
      s.tcp.close();
    }
  });

  test('TXT records keep their strings, and the set its smallest TTL', async () => {
    const query = createDnsClient({ servers: [server.address] });
    assert.deepEqual(await query('example.test', 'TXT'), { ok: true, values: [['v=spf1 ', '-all'], ['other']], ttl: 60 });
    assert.deepEqual(await query('example.test', 'MX'), { ok: true, values: [{ exchange: 'mx.example.test', priority: 10 }], ttl: 300 });
  });

  test('NXDOMAIN and NODATA are answers, with the negative TTL from the SOA (RFC 2308)', async () => {
    const query = createDnsClient({ servers: [server.address] });
    assert.deepEqual(await query('missing.example.test', 'TXT'), { ok: false, code: 'ENOTFOUND', ttl: 120 });
    assert.deepEqual(await query('example.test', 'AAAA'), { ok: false, code: 'ENODATA', ttl: 120 });
  });

  test('a truncated UDP answer is asked again over TCP', async () => {
    const query = createDnsClient({ servers: [server.address] });
    assert.deepEqual(await query('big.example.test', 'TXT'), { ok: true, values: [['x'.repeat(255), 'y'.repeat(100)]], ttl: 30 });
  });

  test('an answer with another id is ignored: the lookup times out (ETIMEOUT)', async () => {
    const query = createDnsClient({ servers: [server.address], timeoutMs: 200, tries: 1 });
    await assert.rejects(query('spoofed.example.test', 'A'), { code: 'ETIMEOUT' });
  });

  test('SERVFAIL from one server: the next is asked; from all: ESERVFAIL', async () => {
    assert.equal((await createDnsClient({ servers: [servfail.address, server.address] })('example.test', 'MX')).ok, true);
    await assert.rejects(createDnsClient({ servers: [servfail.address], tries: 1 })('example.test', 'MX'), { code: 'ESERVFAIL' });
  });

  test('nobody listening: ETIMEOUT or ECONNREFUSED, never an answer', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const query = createDnsClient({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 150, tries: 1 });
    await assert.rejects(query('example.test', 'TXT'), (err: { code?: string }) => err.code === 'ETIMEOUT' || err.code === 'ECONNREFUSED');
    silent.close();
  });
});
