// The domain of a message's From header, for choosing a DKIM key (never for an envelope:
// docs/reliability.md §2 F9). The last address in the first From field, its domain after the
// last "@", normalised; null when there is no usable From.
import { normalizeDomain } from '../../../bundle/address.ts';

export function fromHeaderDomain(message: Buffer): string | null {
  const end = message.indexOf('\r\n\r\n');
  const header = message.subarray(0, end < 0 ? Math.min(message.length, 256 * 1024) : end).toString('utf8');
  // Unfold continuation lines, then find the first From field.
  const unfolded = header.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => /^from\s*:/i.test(l));
  if (!line) return null;
  const value = line.slice(line.indexOf(':') + 1).replace(/\([^()]*\)/g, ' ');
  const angle = [...value.matchAll(/<([^<>]*)>/g)].map((m) => m[1]!);
  const address = (angle.length > 0 ? angle[angle.length - 1]! : value).trim();
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  return normalizeDomain(address.slice(at + 1).replace(/[>\s;,].*$/, ''));
}
