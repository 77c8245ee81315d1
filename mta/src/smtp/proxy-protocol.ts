// PROXY protocol v1 and v2 (haproxy.org proxy-protocol.txt) on the listeners that have trusted
// source ranges (ListenerConfig.proxyFrom), so a load balancer in front of the Service passes
// the real client address: SPF, Received, the per-client limits and the logs all read
// session.remoteAddress, which smtp-server sets from the header.
//
//   from a trusted range  the header is required before anything else: v1 is read by
//                         smtp-server (its `useProxy`; a line that is not PROXY gets
//                         "* BAD" and the connection is closed), v2 (binary) here. A v2 LOCAL
//                         header (the balancer's own health check) keeps the real peer.
//   from anywhere else    no header is read: a `PROXY ...` line is a command we answer with
//                         421 4.7.0 and close (handler_PROXY, also on listeners without PROXY);
//                         a v2 header ends in `QUIT\n` and so ends the session.
// smtp-server's own trust list is exact addresses; ours is CIDR ranges, so the server's
// _expectsProxyHeader() is replaced per listener.
import { randomBytes } from 'node:crypto';
import { BlockList, isIPv4, isIPv6, type Socket } from 'node:net';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPServer } from 'smtp-server';
import { C, SE } from '../codes.ts';
import { SmtpError } from '../errors.ts';

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v2MaxLength = 16 + 216; // the longest address block (AF_UNIX) with room for TLVs we ignore

/** The trusted ranges as a BlockList; throws on a range that is not ip/prefix or ip. */
export function trustedRanges(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [ip = '', prefix] = range.trim().split('/');
    const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : null;
    if (!family) throw new Error(`PROXY trusted range ${JSON.stringify(range)}: not an IP address or CIDR range`);
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv4' ? 32 : 128))
      throw new Error(`PROXY trusted range ${JSON.stringify(range)}: bad prefix`);
    list.addSubnet(ip, bits, family);
  }
  return list;
}

export function isTrusted(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  return isIPv4(ip) ? list.check(ip, 'ipv4') : isIPv6(ip) ? list.check(ip, 'ipv6') : false;
}

/** A parsed v2 header: the client's address, or null for LOCAL (keep the peer's); `length` bytes consumed. */
export function parseProxyV2(buf: Buffer): { length: number; client: { address: string; port: number } | null } | 'incomplete' | 'invalid' {
  if (buf.length < 16) return 'incomplete';
  if (!buf.subarray(0, 12).equals(v2Signature)) return 'invalid';
  const verCmd = buf[12]!;
  const family = buf[13]!;
  const length = 16 + buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2 || length > v2MaxLength) return 'invalid';
  if (buf.length < length) return 'incomplete';
  const command = verCmd & 0x0f;
  if (command === 0) return { length, client: null };
  if (command !== 1) return 'invalid';
  if (family === 0x11 && length >= 16 + 12) {
    return { length, client: { address: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) } };
  }
  if (family === 0x21 && length >= 16 + 36) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + i * 2).toString(16));
    return { length, client: { address: groups.join(':'), port: buf.readUInt16BE(48) } };
  }
  return family === 0x00 ? { length, client: null } : 'invalid';
}

type ProxyCallback = (err: Error | null, options?: { id: string; remoteAddress?: string; remotePort?: number; ignore?: boolean }) => void;

interface ServerInternals {
  _expectsProxyHeader: (socket: Socket) => boolean;
  _handleProxy: (socket: Socket, callback: ProxyCallback) => void;
}

/** PROXY from `trusted` ranges on this server (replaces its _expectsProxyHeader and, for v2, _handleProxy). */
export function installProxyProtocol(server: SMTPServer, trusted: BlockList): void {
  const internals = server as unknown as ServerInternals;
  const upstreamHandle = internals._handleProxy.bind(server);
  internals._expectsProxyHeader = (socket) => isTrusted(trusted, socket.remoteAddress);
  internals._handleProxy = (socket, callback) => {
    if (!internals._expectsProxyHeader(socket)) return upstreamHandle(socket, callback);
    let buffered = Buffer.alloc(0);
    const finish = (fn: () => void) => {
      socket.removeListener('readable', onReadable);
      socket.removeListener('close', onClose);
      fn();
    };
    const onClose = () => finish(() => callback(new Error('Socket closed before PROXY header was received')));
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buffered = Buffer.concat([buffered, chunk]);
        // Not v2: hand everything back to smtp-server's v1 reader.
        if (!v2Signature.subarray(0, Math.min(buffered.length, 12)).equals(buffered.subarray(0, Math.min(buffered.length, 12)))) {
          return finish(() => {
            socket.unshift(buffered);
            upstreamHandle(socket, callback);
          });
        }
        const parsed = parseProxyV2(buffered);
        if (parsed === 'incomplete') continue;
        if (parsed === 'invalid') {
          return finish(() => {
            socket.end('* BAD Invalid PROXY header\r\n');
            setTimeout(() => socket.destroy(), 1000).unref();
            callback(new Error('Invalid PROXY v2 header'));
          });
        }
        return finish(() => {
          if (buffered.length > parsed.length) socket.unshift(buffered.subarray(parsed.length));
          const id = BigInt(`0x${randomBytes(10).toString('hex')}`)
            .toString(32)
            .padStart(16, '0');
          callback(null, parsed.client ? { id, remoteAddress: parsed.client.address, remotePort: parsed.client.port } : { id });
        });
      }
    };
    socket.on('readable', onReadable);
    socket.on('close', onClose);
  };
}

/** A PROXY header from a peer we do not trust, read as a command: refused, connection closed. */
export function proxyRefused(): SmtpError {
  return new SmtpError({
    code: C.C421ServiceUnavailable,
    subject: SE.Security0,
    rule: 'proxy_untrusted',
    clientMessage: 'PROXY protocol not accepted from your address',
    reason: 'PROXY header from an address outside the trusted ranges',
  });
}

let installed = false;

/** Adds handler_PROXY to SMTPConnection once per process; the refusal is reported as the listener's rule. */
export function installProxyCommandRefusal(): void {
  if (installed) return;
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  proto.handler_PROXY = function (
    this: { send(code: number, data: string): void; _server: { options: { sessionLimits?: { onLimit?: (rule: string) => void } } } },
    _command: unknown,
    callback: () => void,
  ) {
    const error = proxyRefused();
    this._server.options.sessionLimits?.onLimit?.(error.rule);
    this.send(error.responseCode, error.message);
    callback();
  };
  installed = true;
}
