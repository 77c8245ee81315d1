// Where a tenant's Mailbox may have its mail delivered (docs/trust-model.md, "Passwords and
// delivery targets"). The platform admin sets the allow-lists in the chart (values
// `deliveryTargets.*`); the chart passes the same values as flags to the operator, which
// reports a target outside them on the Mailbox (Ready=False) and keeps it out of the bundle,
// and to the MTA, whose transports refuse such a target again with a permanent failure if
// it still gets there (an older operator, a hand-written bundle, DNS that changed since).
//
//   LMTP:     only hosts in `lmtpHosts` (exact names or addresses, or `*.suffix`).
//   maildir:  only paths under `maildirRoot` (none when it is null).
//   webhook:  https only, and every address the name resolves to must be public: loopback,
//             link-local (169.254/16, fe80::/10, cloud metadata), private, CGNAT, unique-local
//             (where cluster pod and service ranges live), multicast and unspecified addresses
//             are refused unless inside one of `webhookAllowNetworks`. The MTA checks the address
//             it actually connects to, at connect time, not only the name at render time, so a
//             name that resolves differently later (DNS rebinding) is still refused.
import { BlockList, isIP } from 'node:net';
import { posix } from 'node:path';

export interface DeliveryTargetPolicy {
  /** LMTP hosts a Mailbox may name: exact host names or addresses, or `*.suffix` for any name under suffix. */
  readonly lmtpHosts: readonly string[];
  /** The directory every explicit maildir path must be inside; null: no Mailbox may name a maildir. */
  readonly maildirRoot: string | null;
  /** CIDRs (10.1.2.0/24, fd00::/8) webhooks may reach although they are not public. */
  readonly webhookAllowNetworks: readonly string[];
}

/** The platform default: no LMTP host, no maildir, webhooks only to public https endpoints. */
export const defaultDeliveryTargetPolicy: DeliveryTargetPolicy = Object.freeze({ lmtpHosts: [], maildirRoot: null, webhookAllowNetworks: [] });

/** The networks a webhook may not reach unless the admin allows them. */
const nonPublic: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['fc00::', 7, 'ipv6', 'unique-local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

function cidrList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const family = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address ?? '', Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list;
}

/** Why `cidr` is not a network the allow-list understands, or null. */
export function cidrProblem(cidr: string): string | null {
  const [address, bits, extra] = cidr.split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  if (family === 0 || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || Number(bits ?? max) > max) return `${cidr} is not a CIDR`;
  return null;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
function unmapped(address: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1] as string;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return address;
  const [high, low] = [parseInt(hex[1] as string, 16), parseInt(hex[2] as string, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Why a webhook may not connect to `address` (an IP), or null when it may. */
export function webhookAddressProblem(address: string, policy: DeliveryTargetPolicy): string | null {
  const ip = unmapped(address);
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(ip) === 0) return `${address} is not an IP address`;
  if (cidrList(policy.webhookAllowNetworks).check(ip, family)) return null;
  for (const [net, bits, f, name] of nonPublic) {
    if (f !== family) continue;
    const one = new BlockList();
    one.addSubnet(net, bits, f);
    if (one.check(ip, family)) return `${address} is a ${name} address, which webhooks may not reach (docs/trust-model.md)`;
  }
  return null;
}

/** Why a webhook URL is refused as written (scheme, form, an IP literal host), or null. Names are resolved at connect time. */
export function webhookUrlProblem(raw: string, policy: DeliveryTargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${raw} is not a URL`;
  }
  if (url.protocol !== 'https:') return `${url.protocol} webhooks are not allowed; use https://`;
  if (url.username || url.password) return 'a webhook URL may not carry credentials';
  if (!url.hostname) return 'a webhook URL needs a host';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return webhookAddressProblem(host, policy);
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is loopback, which webhooks may not reach`;
  return null;
}

/** Why an LMTP host is not one the admin allows, or null. */
export function lmtpHostProblem(host: string, policy: DeliveryTargetPolicy): string | null {
  const name = host.toLowerCase().replace(/\.$/, '');
  const allowed = policy.lmtpHosts.some((pattern) => {
    const p = pattern.toLowerCase().replace(/\.$/, '');
    return p.startsWith('*.') ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p;
  });
  return allowed ? null : `LMTP host ${host} is not in the platform's allowed LMTP hosts (deliveryTargets.lmtpHosts: ${policy.lmtpHosts.join(', ') || 'none'})`;
}

/** Why a maildir path is outside the platform's maildir root, or null. */
export function maildirPathProblem(path: string, policy: DeliveryTargetPolicy): string | null {
  if (policy.maildirRoot === null) return 'no maildir root is configured (deliveryTargets.maildirRoot), so no Mailbox may name a maildir';
  if (!posix.isAbsolute(path)) return `maildir path ${path} is not absolute`;
  const root = posix.resolve(policy.maildirRoot);
  const resolved = posix.resolve(path);
  if (resolved === root || !resolved.startsWith(`${root === '/' ? '' : root}/`))
    return `maildir path ${path} is not inside ${root} (deliveryTargets.maildirRoot)`;
  return null;
}
