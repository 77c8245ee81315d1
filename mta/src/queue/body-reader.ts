// Reading a stored body as a stream with backpressure, for delivery (issue 15): the
// transports take the message as a Readable instead of one Buffer per job, so a pod
// delivering ten 30 MB messages holds a few chunks of each, not all of them.
//
// nats.js ObjectStore.get() is not used: its ReadableStream is filled by a push consumer as
// fast as the chunks arrive, whatever the reader's pace, so a slow receiver would still make
// the whole object pile up in memory. Here the chunks are pulled from the bucket's stream by
// an ordered consumer, `batchChunks` at a time, only when the reader asks for more.
//
// The size and sha256 of the record (record.ts) are checked as the bytes pass; the last
// chunk is held back until they match, so a transport that sends what it reads never hands
// on the end of a body that does not match its record: it sees an error instead, and a
// remote SMTP transaction is never ended with the final dot.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { bodyError } from './errors.ts';
import type { DecodedRecord } from './record.ts';

/** Chunks fetched per pull (the Object Store's chunks are 128 KiB by default). */
export const defaultBatchChunks = 4;

export interface BodyReaderOptions {
  readonly js: JetStreamClient;
  readonly store: ObjectStore;
  /** The body bucket's stream (settings.ts bodyStreamName). */
  readonly stream: string;
  readonly batchChunks?: number;
}

/**
 * The body of a decoded record as a Readable: the inline body, or the streamed body's
 * prefix followed by its object, verified against the record's size and sha256 (of the
 * object). Errors (missing object, mismatch, NATS) surface as the stream's error.
 */
export function openBody(opts: BodyReaderOptions, decoded: DecodedRecord): Readable {
  const { body } = decoded.record;
  if (body.kind === 'inline') return Readable.from([Buffer.from(decoded.inlineBody ?? new Uint8Array(0))], { objectMode: false });
  return Readable.from(objectChunks(opts, decoded), { objectMode: false, highWaterMark: 64 * 1024 });
}

async function* objectChunks(opts: BodyReaderOptions, decoded: DecodedRecord): AsyncGenerator<Buffer> {
  const { record } = decoded;
  if (record.body.kind !== 'object') return;
  const { name, size, sha256, prefix } = record.body;
  const info = await opts.store.info(name);
  if (info === null || info.deleted) throw bodyError(`body object ${name} of ${record.queueId} is missing from bucket ${record.body.bucket}`);
  const mismatch = () => bodyError(`body object ${name} of ${record.queueId} does not match its size or sha256`);
  if (info.size !== size) throw mismatch();
  if (prefix !== undefined) yield Buffer.from(prefix, 'utf8');
  if (size === 0) {
    if (createHash('sha256').digest('hex') !== sha256) throw mismatch();
    return;
  }
  const hash = createHash('sha256');
  const consumer = await opts.js.consumers.get(opts.stream, { filter_subjects: `$O.${record.body.bucket}.C.${info.nuid}` });
  const batch = opts.batchChunks ?? defaultBatchChunks;
  let seen = 0;
  let held: Buffer | null = null;
  try {
    while (seen < size) {
      const messages = await consumer.fetch({ max_messages: batch, expires: 5000 });
      let got = 0;
      for await (const m of messages) {
        got++;
        if (m.data.length === 0) continue;
        const chunk = Buffer.from(m.data);
        seen += chunk.length;
        if (seen > size) throw mismatch();
        hash.update(chunk);
        if (held) yield held;
        held = chunk;
        if (seen === size) break;
      }
      if (got === 0) throw bodyError(`body object ${name} of ${record.queueId} ended after ${seen} of ${size} bytes`);
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  if (hash.digest('hex') !== sha256) throw mismatch();
  if (held) yield held;
}
