// A self-signed certificate for a listener that has nothing better: no certificate in the
// bundle for the name the client asked for, and none configured as the default.
// Opportunistic STARTTLS between MTAs does not verify certificates, so this still encrypts
// MX traffic; submission clients will (rightly) complain until the MailDomain has a real
// certificate.
//
// Made in process: node:crypto makes the ECDSA P-256 key and signs, and the X.509 v3
// structure (RFC 5280) is written here in DER, because node:crypto cannot issue
// certificates and the image carries no openssl binary to shell out to.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

const oids = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** RFC 5280's upper bound for a commonName. */
const maxCommonName = 64;

/** An ECDSA P-256 key and a certificate for `hostnames` (the first is the CN), valid for `days`. */
export function generateSelfSignedCertificate(hostnames: readonly string[], days = 365, now = new Date()): Promise<TlsMaterial> {
  // A promise, as callers await it; a bad hostname rejects it.
  return new Promise((resolve) => resolve(selfSigned(hostnames, days, now)));
}

function selfSigned(hostnames: readonly string[], days: number, now: Date): TlsMaterial {
  const [first] = hostnames;
  if (!first) throw new Error('a certificate needs at least one hostname');
  for (const h of hostnames) {
    if (!/^[\x21-\x7e]{1,253}$/.test(h)) throw new Error(`${JSON.stringify(h)} is not a DNS name for a certificate`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = seq(oid(oids.ecdsaWithSha256));
  // A name longer than a CN may be lives in the subjectAltName only (then critical, as the
  // subject is empty: RFC 5280 4.2.1.6).
  const name = first.length <= maxCommonName ? seq(set(seq(oid(oids.commonName), utf8(first)))) : seq();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000); // an hour of clock skew
  const notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serialNumber()),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      seq(
        extension(oids.subjectAltName, first.length > maxCommonName, seq(...hostnames.map((h) => tlv(0x82, Buffer.from(h, 'ascii'))))),
        extension(oids.basicConstraints, true, seq()), // not a CA
        extension(oids.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
        extension(oids.extKeyUsage, false, seq(oid(oids.serverAuth))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const certificate = seq(tbs, algorithm, bitString(signature));
  return {
    certPem: pem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** 16 random bytes, positive and non-zero, as RFC 5280 4.1.2.2 asks. */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), octetString(value)) : seq(oid(id), octetString(value));
}

// DER (X.690) for the few types a certificate uses.

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function seq(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}

function set(...parts: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(parts));
}

function explicit(n: number, content: Buffer): Buffer {
  return tlv(0xa0 | n, content);
}

function integer(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

function utf8(text: string): Buffer {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-05-01T12:34:56.789Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
