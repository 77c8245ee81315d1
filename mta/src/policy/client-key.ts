// The key a per-client limit counts by: an IPv4 address as it is, an IPv6 address by its /64
// (one customer's LAN or one server's allocation: counting exact IPv6 addresses would give each
// client 2^64 free slots; Postfix and rspamd count IPv6 clients per /64 as well). IPv4-mapped
// IPv6 (::ffff:192.0.2.1, how a dual-stack listener reports IPv4) is the IPv4 address.
// Used for connections per IP, and for the shared AUTH and rate limits (docs/reliability.md §1).
import { isIPv4, isIPv6 } from 'node:net';

export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  return `${ipv6Groups(ip).slice(0, 4).join(':')}::/64`;
}

// The eight 16-bit groups of an IPv6 address, lowercase, without leading zeros.
function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = ip.toLowerCase().replace(/%.*$/, '').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}
