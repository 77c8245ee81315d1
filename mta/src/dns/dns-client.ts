// A stub resolver that returns what node:dns cannot: the TTL of every answer (TXT and MX
// included) and the SOA of a negative answer (RFC 2308), so lookups can be cached for as long
// as the zone allows and no longer (dns-cache.ts). Wire format by dns-packet; the transport
// is ours: UDP with EDNS0 (1232-byte payload, the DNS flag day 2020 size), TCP when the
// answer is truncated (RFC 7766), every server tried in turn, each try bounded in time.
//
// Hostile answers: the reply must carry our random id and echo our question, else it is
// ignored (an off-path spoofer has to guess 16 bits of id plus the source port); names,
// counts and lengths are checked by dns-packet's decoder, which throws on a malformed packet
// (that try counts as failed). Errors keep node's codes, so everything that classifies
// node:dns errors (mailauth, classifyDnsError) reads these the same way:
//   NXDOMAIN → ENOTFOUND, NOERROR without records → ENODATA, SERVFAIL → ESERVFAIL,
//   REFUSED → EREFUSED, no answer in time → ETIMEOUT, socket errors → ECONNREFUSED.
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import * as packet from 'dns-packet';

/** The record types the mail checks ask for. */
export type LookupType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'PTR' | 'CNAME';

export interface MxValue {
  readonly exchange: string;
  readonly priority: number;
}

/** One record's data, in node:dns's shapes (TXT: its strings; MX: exchange and priority). */
export type RecordValue = string | readonly string[] | MxValue;

export interface DnsRecordSet {
  readonly values: readonly RecordValue[];
  /** Seconds: the smallest TTL among the records (0 when there are none). */
  readonly ttl: number;
}

/** A negative answer and how long it may be cached (RFC 2308 §5: min(SOA TTL, SOA minimum)). */
export interface DnsNegative {
  readonly code: 'ENOTFOUND' | 'ENODATA';
  /** Seconds, or null when the answer carried no SOA (not cacheable). */
  readonly ttl: number | null;
}

export type DnsAnswer = ({ readonly ok: true } & DnsRecordSet) | ({ readonly ok: false } & DnsNegative);

export interface DnsQuery {
  (name: string, type: LookupType, signal?: AbortSignal): Promise<DnsAnswer>;
}

export interface DnsClientOptions {
  /** "ip" or "ip:port" ("[v6]:port"), tried in order. */
  readonly servers: readonly string[];
  /** One try at one server (default 2 s). */
  readonly timeoutMs?: number;
  /** Rounds over the server list (default 2). */
  readonly tries?: number;
}

export class DnsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
  }
}

const udpPayloadSize = 1232;
const maxTcpAnswer = 65_535;

export function createDnsClient(options: DnsClientOptions): DnsQuery {
  const servers = options.servers.map(parseServer);
  if (servers.length === 0) throw new Error('a DNS client needs at least one server');
  const timeoutMs = options.timeoutMs ?? 2_000;
  const tries = options.tries ?? 2;

  return async (name, type, signal) => {
    const question = { name: name.replace(/\.$/, ''), type } as const;
    let last: DnsError = new DnsError('ETIMEOUT', `no DNS server answered ${type} ${name}`);
    for (let round = 0; round < tries; round++) {
      for (const server of servers) {
        if (signal?.aborted) throw new DnsError('ETIMEOUT', `lookup of ${type} ${name} abandoned`);
        try {
          let reply = await exchangeUdp(server, question, timeoutMs, signal);
          if (reply.flag_tc) reply = await exchangeTcp(server, question, timeoutMs, signal);
          const answer = answerOf(reply, question);
          if (answer instanceof DnsError) {
            last = answer;
            continue; // SERVFAIL / REFUSED: another server may know
          }
          return answer;
        } catch (err) {
          last = err instanceof DnsError ? err : new DnsError('ECONNREFUSED', `${type} ${name} at ${server.host}:${server.port}: ${(err as Error).message}`);
        }
      }
    }
    throw last;
  };
}

interface Server {
  readonly host: string;
  readonly port: number;
}

function parseServer(text: string): Server {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: Number(v6[2] ?? 53) };
  if (isIPv6(text)) return { host: text, port: 53 };
  const [host, port] = text.split(':');
  return { host: host!, port: Number(port ?? 53) };
}

type Question = { readonly name: string; readonly type: LookupType };

function queryPacket(question: Question): { id: number; bytes: packet.Packet } {
  const id = randomInt(0, 65_536);
  return {
    id,
    bytes: {
      type: 'query',
      id,
      flags: packet.RECURSION_DESIRED,
      questions: [{ name: question.name, type: question.type, class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    },
  };
}

function matches(reply: packet.DecodedPacket, id: number, question: Question): boolean {
  const q = reply.questions?.[0];
  return reply.type === 'response' && reply.id === id && q !== undefined && q.type === question.type && q.name.toLowerCase() === question.name.toLowerCase();
}

/**
 * How one exchange ends, the same over UDP and TCP: the answer, an error, the deadline or the
 * caller's abort, whichever comes first, clears the timer and the abort listener, closes the
 * socket and settles the promise. Returns the `finish` the socket's handlers call.
 */
function exchangeEnd(
  exchange: { server: Server; question: Question; timeoutMs: number; signal: AbortSignal | undefined; via: string },
  close: () => void,
  resolve: (reply: packet.DecodedPacket) => void,
  reject: (err: Error) => void,
): (err: Error | null, reply?: packet.DecodedPacket) => void {
  const { server, question, timeoutMs, signal, via } = exchange;
  const finish = (err: Error | null, reply?: packet.DecodedPacket) => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    close();
    if (err) reject(err);
    else resolve(reply!);
  };
  const onAbort = () => finish(new DnsError('ETIMEOUT', `lookup of ${question.type} ${question.name} abandoned`));
  const timer = setTimeout(
    () => finish(new DnsError('ETIMEOUT', `${server.host}:${server.port}${via} did not answer ${question.type} ${question.name} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  signal?.addEventListener('abort', onAbort, { once: true });
  return finish;
}

function exchangeUdp(server: Server, question: Question, timeoutMs: number, signal?: AbortSignal): Promise<packet.DecodedPacket> {
  const { id, bytes } = queryPacket(question);
  return new Promise((resolve, reject) => {
    const socket: UdpSocket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const finish = exchangeEnd({ server, question, timeoutMs, signal, via: '' }, () => socket.close(), resolve, reject);
    socket.on('error', (err) => finish(new DnsError('ECONNREFUSED', `${server.host}:${server.port}: ${err.message}`)));
    socket.on('message', (msg) => {
      let reply: packet.DecodedPacket;
      try {
        reply = packet.decode(msg);
      } catch {
        return; // not a DNS message for us: keep waiting for the real one
      }
      if (matches(reply, id, question)) finish(null, reply);
    });
    socket.send(packet.encode(bytes), server.port, server.host);
  });
}

function exchangeTcp(server: Server, question: Question, timeoutMs: number, signal?: AbortSignal): Promise<packet.DecodedPacket> {
  const { id, bytes } = queryPacket(question);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const finish = exchangeEnd({ server, question, timeoutMs, signal, via: ' (TCP)' }, () => socket.destroy(), resolve, reject);
    socket.on('error', (err) => finish(new DnsError('ECONNREFUSED', `${server.host}:${server.port} (TCP): ${err.message}`)));
    socket.on('connect', () => socket.write(packet.streamEncode(bytes)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > maxTcpAnswer + 2) return finish(new DnsError('EBADRESP', 'TCP answer longer than a DNS message can be'));
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      let reply: packet.DecodedPacket;
      try {
        reply = packet.decode(received.subarray(2, 2 + received.readUInt16BE(0)));
      } catch (err) {
        return finish(new DnsError('EBADRESP', `malformed TCP answer: ${(err as Error).message}`));
      }
      if (!matches(reply, id, question)) return finish(new DnsError('EBADRESP', 'TCP answer for another question'));
      finish(null, reply);
    });
    socket.on('end', () => finish(new DnsError('ECONNREFUSED', `${server.host}:${server.port} (TCP) closed before answering`)));
  });
}

/** The records of the asked type in a reply (CNAME chains followed by the server), or the negative answer. */
export function answerOf(reply: packet.DecodedPacket, question: Question): DnsAnswer | DnsError {
  const rcode = (reply as { rcode?: string }).rcode ?? 'NOERROR';
  if (rcode === 'SERVFAIL') return new DnsError('ESERVFAIL', `SERVFAIL for ${question.type} ${question.name}`);
  if (rcode === 'REFUSED') return new DnsError('EREFUSED', `REFUSED for ${question.type} ${question.name}`);
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return new DnsError(`E${rcode}`, `${rcode} for ${question.type} ${question.name}`);
  const records = (reply.answers ?? []).filter((a) => a.type === question.type);
  if (rcode === 'NOERROR' && records.length > 0) {
    return { ok: true, values: records.map(valueOf), ttl: Math.min(...records.map((r) => ('ttl' in r && typeof r.ttl === 'number' ? r.ttl : 0))) };
  }
  const soa = (reply.authorities ?? []).find((a): a is packet.SoaAnswer => a.type === 'SOA');
  const ttl = soa ? Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0) : null;
  return { ok: false, code: rcode === 'NXDOMAIN' ? 'ENOTFOUND' : 'ENODATA', ttl };
}

function valueOf(answer: packet.Answer): RecordValue {
  switch (answer.type) {
    case 'TXT': {
      const data = answer.data;
      const strings = Array.isArray(data) ? data : [data];
      return strings.map((s) => (Buffer.isBuffer(s) ? s.toString('utf8') : String(s)));
    }
    case 'MX':
      return { exchange: answer.data.exchange === '.' ? '' : answer.data.exchange, priority: answer.data.preference ?? 0 };
    default:
      return String((answer as { data: unknown }).data);
  }
}
