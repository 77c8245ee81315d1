// Message bodies in the JetStream Object Store, for bodies too large to travel inline.
// The object is named after the queue id, so storing it again (a retried enqueue) replaces
// the same object instead of adding one; when an identical object is already there it is
// kept. The digest is checked after the write and on every read: a body that does not match
// its record is never delivered. Objects left behind when a pod dies between the body and
// the job publish are orphans for a later GC (docs/reliability.md §3 scenario 12).
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { bodyError } from './errors.ts';
import { sha256Hex, type BodyRef, type DecodedRecord } from './record.ts';
import type { QueueSettings } from './settings.ts';

/** Opens the body bucket that ensureQueue() created. */
export async function openBodyStore(nc: NatsConnection, settings: QueueSettings): Promise<ObjectStore> {
  return await new Objm(nc).open(settings.bodyBucket, false);
}

/** nats.js digests are "SHA-256=" + base64url (padded) of the raw hash; records keep hex. */
export function objectDigestHex(info: Pick<ObjectInfo, 'digest'>): string | null {
  const prefix = 'SHA-256=';
  if (!info.digest.startsWith(prefix)) return null;
  return Buffer.from(info.digest.slice(prefix.length), 'base64url').toString('hex');
}

/**
 * Stores `body` as object `name` unless an identical object is already there, and checks the
 * stored digest. Errors from NATS are passed through for the publisher to classify.
 */
export async function storeBody(store: ObjectStore, name: string, body: Uint8Array, sha256: string, timeoutMs: number): Promise<void> {
  const existing = await store.info(name);
  if (existing && !existing.deleted && existing.size === body.length && objectDigestHex(existing) === sha256) return;
  const info = await store.putBlob({ name }, body, { timeout: timeoutMs });
  if (info.size !== body.length || objectDigestHex(info) !== sha256) {
    throw bodyError(`object ${name} was stored as ${info.size} bytes with digest ${info.digest}, expected ${body.length} bytes sha256 ${sha256}`);
  }
}

/** Where a record's body lives, in words for `stafette queue show`. */
export function describeBodyLocation(body: BodyRef): string {
  return body.kind === 'inline' ? 'inline in the job message' : `object store bucket ${body.bucket}, object ${body.name}`;
}

/**
 * The body bytes of a decoded record, from the record itself or from the Object Store,
 * verified against the record's size and sha256 (of the object; a streamed body's prefix,
 * record.ts, goes in front).
 */
export async function loadBody(store: ObjectStore, decoded: DecodedRecord): Promise<Uint8Array> {
  const { body } = decoded.record;
  if (body.kind === 'inline') return decoded.inlineBody ?? new Uint8Array(0);
  const bytes = await store.getBlob(body.name);
  if (bytes === null) throw bodyError(`body object ${body.name} of ${decoded.record.queueId} is missing from bucket ${body.bucket}`);
  if (bytes.length !== body.size || sha256Hex(bytes) !== body.sha256) {
    throw bodyError(`body object ${body.name} of ${decoded.record.queueId} does not match its size or sha256`);
  }
  if (body.prefix === undefined) return bytes;
  return Buffer.concat([Buffer.from(body.prefix, 'utf8'), bytes]);
}
