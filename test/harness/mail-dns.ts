// Test sender domains for the mail-standards tests: each with its DKIM key (a file dkimpy can
// sign with, and the record to publish), and the DNS records a real domain would have (SPF,
// DKIM, DMARC, _mta-sts, _smtp._tls, addresses), as a Zone for the harness's dnsmasq
// (dns-server.ts).
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Zone } from './dns-server.ts';

export interface SenderDomainSpec {
  readonly name: string;
  /** SPF record text, e.g. "v=spf1 ip4:127.0.0.10 -all"; omitted: none published. */
  readonly spf?: string;
  /** DMARC record text, e.g. "v=DMARC1; p=reject"; omitted: none published. */
  readonly dmarc?: string;
  /** Publish a DKIM key under this selector (default "s1"); false: sign with a key nobody published. */
  readonly dkim?: string | false;
  /** Other TXT records, by full name (_mta-sts.<name>, _smtp._tls.<name>, ...). */
  readonly txt?: Readonly<Record<string, string>>;
}

export interface SenderDomain {
  readonly name: string;
  readonly selector: string;
  /** PEM file of the private key (PKCS#1, as dkimpy reads it). */
  readonly keyFile: string;
  readonly privateKeyPem: string;
  /** The DKIM record text, published or not. */
  readonly dkimRecord: string;
}

export interface SenderZone {
  readonly domains: ReadonlyMap<string, SenderDomain>;
  /** TXT records of every domain, to merge into a Zone. */
  readonly txt: Record<string, string>;
}

export function createSenderDomains(specs: readonly SenderDomainSpec[]): SenderZone {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-senders-'));
  const domains = new Map<string, SenderDomain>();
  const txt: Record<string, string> = {};
  for (const spec of specs) {
    const selector = spec.dkim === false ? 'unpublished' : (spec.dkim ?? 's1');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const keyFile = join(dir, `${spec.name}.${selector}.pem`);
    writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
    const dkimRecord = `v=DKIM1; k=rsa; p=${createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')}`;
    domains.set(spec.name, { name: spec.name, selector, keyFile, privateKeyPem, dkimRecord });
    if (spec.spf) txt[spec.name] = spec.spf;
    if (spec.dmarc) txt[`_dmarc.${spec.name}`] = spec.dmarc;
    if (spec.dkim !== false) txt[`${selector}._domainkey.${spec.name}`] = dkimRecord;
    Object.assign(txt, spec.txt ?? {});
  }
  return { domains, txt };
}

/** A Zone serving the sender domains' records plus `extra`, answering for `local` authoritatively. */
export function senderZone(senders: SenderZone, extra: Partial<Zone> & { local: readonly string[] }): Zone {
  return { ...extra, txt: { ...senders.txt, ...(extra.txt ?? {}) } };
}
