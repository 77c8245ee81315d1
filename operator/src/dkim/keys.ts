// DKIM key pairs: generated here, stored as PEM, published as the p= tag of the key
// record. RSA keys are 2048 bits (RFC 8301 requires at least 1024 and recommends 2048);
// Ed25519 keys follow RFC 8463, whose p= is the raw 32-byte public key, not its SPKI.
import { createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { DkimAlgorithm } from '../../../bundle/schema.ts';

export interface DkimKeyPair {
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  /** The p= value of the DNS record. */
  publicKey: string;
}

export function generateDkimKey(algorithm: DkimAlgorithm): DkimKeyPair {
  const privateKeyPem =
    algorithm === 'rsa-sha256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      : generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { algorithm, privateKeyPem, publicKey: publicKeyRecordValue(privateKeyPem) };
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * generateDkimKey off the event loop: an RSA key takes tens of milliseconds, and an operator
 * makes many. The p= value comes from the generated public key, not from parsing the PEM again.
 */
export async function generateDkimKeyAsync(algorithm: DkimAlgorithm): Promise<DkimKeyPair> {
  const pair = algorithm === 'rsa-sha256' ? await generateKeyPairAsync('rsa', { modulusLength: 2048 }) : await generateKeyPairAsync('ed25519');
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { algorithm, privateKeyPem, publicKey: recordValueOf(pair.publicKey) };
}

/** A PEM private key's algorithm and p= value, parsing it once; throws as algorithmOf does. */
export function keyMaterialOf(privateKeyPem: string): { algorithm: DkimAlgorithm; publicKey: string } {
  const key = createPrivateKey(privateKeyPem);
  return { algorithm: algorithmOfKey(key), publicKey: recordValueOf(createPublicKey(key)) };
}

/** The algorithm of a PEM private key, or an error naming what it is instead. */
export function algorithmOf(privateKeyPem: string): DkimAlgorithm {
  return algorithmOfKey(createPrivateKey(privateKeyPem));
}

function algorithmOfKey(key: KeyObject): DkimAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  throw new Error(`the key type ${key.asymmetricKeyType} cannot sign DKIM; use RSA or Ed25519`);
}

/** The p= value for a private key: base64 SPKI DER for RSA, base64 raw key for Ed25519. */
export function publicKeyRecordValue(privateKeyPem: string): string {
  return recordValueOf(createPublicKey(createPrivateKey(privateKeyPem)));
}

function recordValueOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (publicKey.asymmetricKeyType === 'ed25519') return der.subarray(der.length - 32).toString('base64');
  return der.toString('base64');
}
