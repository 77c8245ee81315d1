// A stored body read as a stream, for delivery of bodies too large to hold whole
// (docs/reliability.md "Limits"). The object's chunks are read one at a time with JetStream
// direct gets (next message on the object's chunk subject), so a reader that waits (a slow
// SMTP peer) holds at most a chunk or two: @nats-io/obj's own get() feeds a push consumer into
// an unbounded queue, and a fast server would fill it with the whole object. Every open()
// starts over (a second pass, another host), checks size and sha256 against the record as
// loadBody (body-store.ts) does, and errors at the end when they do not match: a body that
// does not match its record is never completed on the wire.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { bodyError } from './errors.ts';
import type { DecodedRecord } from './record.ts';

/** A body that can be read, from the start, as often as needed. */
export interface BodySource {
  /** Bytes of the body: prefix and object. */
  readonly size: number;
  open(): Readable;
}

/** Reads one chunk message: the next on `subject` at or after `seq`; null when there is none. */
export type ChunkGetter = (subject: string, seq: number) => Promise<{ seq: number; data: Uint8Array } | null>;

/** Chunks through JetStream direct get on the body stream (allow_direct, settings.ts). */
export function directChunkGetter(jsm: JetStreamManager, stream: string): ChunkGetter {
  return async (subject, seq) => {
    const m = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    return m === null ? null : { seq: m.seq, data: m.data };
  };
}

/**
 * The body of an object record as a BodySource; throws a body error when the object is
 * missing (as loadBody does). Only for records whose body is an object.
 */
export async function openStoredBody(store: ObjectStore, bucket: string, getChunk: ChunkGetter, decoded: DecodedRecord): Promise<BodySource> {
  const { body, queueId } = decoded.record;
  if (body.kind !== 'object') throw new Error('openStoredBody: the body is inline');
  const info = await store.info(body.name);
  if (info === null || info.deleted) throw bodyError(`body object ${body.name} of ${queueId} is missing from bucket ${body.bucket}`);
  const prefix = body.prefix === undefined ? Buffer.alloc(0) : Buffer.from(body.prefix, 'utf8');
  const subject = `$O.${bucket}.C.${info.nuid}`;
  const mismatch = () => bodyError(`body object ${body.name} of ${queueId} does not match its size or sha256`);
  async function* chunks(): AsyncGenerator<Buffer> {
    if (prefix.length > 0) yield prefix;
    const hash = createHash('sha256');
    let read = 0;
    // The last chunk is held back until size and digest match: even a consumer that would
    // end its output on an error never hands on the whole of a body that does not match.
    let held: Buffer | null = null;
    for (let seq = 1; read < body.size;) {
      const chunk = await getChunk(subject, seq);
      if (chunk === null) break;
      seq = chunk.seq + 1;
      if (chunk.data.length === 0) continue;
      read += chunk.data.length;
      if (read > body.size) throw mismatch();
      hash.update(chunk.data);
      if (held !== null) yield held;
      held = Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.length);
    }
    if (read !== body.size || hash.digest('hex') !== body.sha256) throw mismatch();
    if (held !== null) yield held;
  }
  return { size: prefix.length + body.size, open: () => Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 }) };
}

/** The first `bytes` of the body (fewer when it is shorter), read no further. */
export async function readPrefix(source: BodySource, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  const stream = source.open();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      got += chunk.length;
      if (got >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

/** The whole body in memory, verified: for the few who need it whole (a DSN returning the full message). */
export async function readAll(source: BodySource): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source.open() as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}
