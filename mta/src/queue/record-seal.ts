// The queue seal: intake vouches for the fields of a queue record that delivery trusts, so that
// whatever else can publish to the queue subjects cannot get mail DKIM-signed, relayed through
// a tenant's Relay or treated as ours (docs/trust-model.md §2.2).
//
// What is sealed: an HMAC-SHA256, with a key only MTA pods hold, over the record's version,
// queue id, acceptance time, listener, authenticated user, envelope sender and the body's size
// and SHA-256 (the body itself is checked against that digest on every read, record.ts). Not
// sealed: the recipients (a retry keeps only the pending ones, so the seal survives it
// unchanged; a replayed record with other recipients sends the same signed message elsewhere,
// which anyone who received it can do with its DKIM signature anyway), and the client's IP,
// HELO and TLS (informational).
//
// The seal is the optional record field `seal`, "v1." + base64url of the MAC, so records of an
// earlier MTA (no seal) still decode. Keys: one per line of the key file, at least 32
// characters each; the first seals, every one verifies (rotation: add the new key second,
// roll out, move it first, roll out, drop the old one once the queue has drained).
//
// Delivery (delivery/index.ts) verifies every record it takes from the queue. A record whose
// seal is missing or does not verify is delivered, but as mail nobody vouched for: `distrust`
// clears its authenticated user and makes it MX mail, so it is not DKIM-signed, cannot choose
// a Relay by its sender, and its forwards are SRS-rewritten and ARC-sealed like any other
// relayed mail. It is not refused: an unsealed record is also what an MTA of the previous
// version queued during an upgrade, and refusing it would lose mail we acknowledged with 250
// (docs/architecture.md §2 contract 1). Each one is logged and counted.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { QueueRecord } from './record.ts';

export type SealVerdict = 'valid' | 'missing' | 'invalid';

export interface RecordSeal {
  /** The seal value for a record (its `seal` field is ignored). */
  seal(record: QueueRecord): string;
  verify(record: QueueRecord): SealVerdict;
}

const prefix = 'v1.';

/** The shortest key accepted, in characters (a 32-byte random value in base64 is 44). */
export const minSealKeyLength = 32;

/** The keys of a key file: one per line, blank lines ignored; throws on a short key or none. */
export function parseSealKeys(text: string): Buffer[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error('the queue seal key file holds no key');
  for (const [i, line] of lines.entries()) {
    if (line.length < minSealKeyLength) throw new Error(`queue seal key ${i + 1} is ${line.length} characters; at least ${minSealKeyLength} are needed`);
  }
  return lines.map((l) => Buffer.from(l, 'utf8'));
}

/** The bytes the MAC covers: the trusted fields, in a fixed order, as one JSON array. */
export function sealedFields(record: QueueRecord): string {
  return JSON.stringify([
    'stafette-queue-seal',
    record.v,
    record.queueId,
    record.receivedAt,
    record.listener,
    record.client.authUser,
    record.envelope.mailFrom.address,
    record.body.size,
    record.body.sha256,
    // Only when present, so the seals of records without it verify as before.
    ...(record.body.kind === 'object' && record.body.prefix !== undefined ? [record.body.prefix] : []),
  ]);
}

export function createRecordSeal(keys: readonly Buffer[]): RecordSeal {
  if (keys.length === 0) throw new Error('a queue seal needs at least one key');
  // Key objects made once: createHmac with a raw Buffer key imports the key on every call,
  // about 5x the cost of the MAC itself (31 vs 7 µs on the 2-core bench machine, issue 15).
  const keyObjects = keys.map((key) => createSecretKey(key));
  const mac = (key: KeyObject, fields: string) => createHmac('sha256', key).update(fields, 'utf8').digest();
  return {
    seal: (record) => prefix + mac(keyObjects[0]!, sealedFields(record)).toString('base64url'),
    verify(record) {
      if (record.seal === undefined) return 'missing';
      if (!record.seal.startsWith(prefix)) return 'invalid';
      const given = Buffer.from(record.seal.slice(prefix.length), 'base64url');
      const fields = sealedFields(record);
      return keyObjects.some((key) => {
        const expected = mac(key, fields);
        return given.length === expected.length && timingSafeEqual(given, expected);
      })
        ? 'valid'
        : 'invalid';
    },
  };
}

/** A record nobody vouched for: no seal, no authenticated user, received on MX (see above). */
export function distrust(record: QueueRecord): QueueRecord {
  return {
    v: record.v,
    queueId: record.queueId,
    receivedAt: record.receivedAt,
    listener: 'mx',
    client: { ...record.client, authUser: null },
    envelope: record.envelope,
    body: record.body,
  };
}
