// Mail addresses as Stafette stores and compares them. The operator normalises the
// addresses of resources with this and the MTA normalises envelope addresses with it,
// so `Alice@Example.COM`, `alice@example.com.` and `alice@bücher.example` match what
// the bundle holds. Local parts compare case-insensitively, as every mail store
// users meet does; `+tag` subaddresses are split off by the recipient policy, not here.
import { domainToASCII } from 'node:url';

export interface Address {
  /** The whole address, normalised: local@domain. */
  readonly address: string;
  readonly local: string;
  readonly domain: string;
}

/**
 * Lowercase ASCII (xn--) form of a domain, without a trailing dot, or null if it is not a DNS name.
 * A name whose last label is all digits (`2130706433`, `10.0.0.1` without brackets) is not one:
 * no top-level domain is numeric (RFC 3696 §2), and resolvers would read it as an IP address;
 * IP literals are written `[10.0.0.1]` and are not domains (docs/reliability.md §1).
 */
export function normalizeDomain(raw: string): string | null {
  const trimmed = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (trimmed.length === 0 || trimmed.length > 253) return null;
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return null;
  return labels.every((l) => label.test(l)) ? ascii : null;
}

/**
 * Splits and normalises an address at its last @. Returns null for anything that is
 * not local@domain with a 1..64 octet local part and a DNS domain. A quoted local part
 * whose content is a plain dot-atom is the same address unquoted (RFC 5321 §4.1.2:
 * `"bob"@example.com` is bob@example.com); other quoted local parts keep their quotes and
 * compare as written, lowercased.
 */
export function normalizeAddress(raw: string): Address | null {
  const at = raw.lastIndexOf('@');
  if (at <= 0 || at === raw.length - 1) return null;
  const local = dequoted(raw.slice(0, at)).toLowerCase();
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (Buffer.byteLength(local) > 64 || /[\s\x00-\x1f\x7f]/.test(local)) return null;
  const domain = normalizeDomain(raw.slice(at + 1));
  if (!domain) return null;
  return { address: `${local}@${domain}`, local, domain };
}

/** The domain part of an already normalised address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * The address without its subaddress tag (RFC 5233): alice+news@example.com gives
 * alice@example.com; null when there is no tag. Intake, routing and render all resolve
 * `+tag` with this one rule.
 */
export function withoutSubaddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  const plus = address.indexOf('+');
  return plus > 0 && plus < at ? address.slice(0, plus) + address.slice(at) : null;
}

// RFC 5321 §4.1.2 Quoted-string: `"..."` with `\x` quoted pairs. Unquoted when what is inside
// is a dot-atom (RFC 5322 §3.2.3), the form every store keys its mailboxes by.
const dotAtom = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function dequoted(local: string): string {
  if (local.length < 2 || !local.startsWith('"') || !local.endsWith('"')) return local;
  const inner = local.slice(1, -1).replace(/\\(.)/g, '$1');
  return dotAtom.test(inner) ? inner : local;
}
