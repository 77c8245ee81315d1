// A message body written to the Object Store while DATA still arrives (docs/reliability.md
// "Limits"): intake hands each normalised chunk to write(), and @nats-io/obj's put() pulls
// them from a ReadableStream, cuts them into chunks of max_chunk_size (128 KiB) and publishes
// each one, waiting for its PubAck before it pulls the next. The object's metadata (size and
// digest) is published only after the last chunk, so until end() resolves there is no object,
// only chunks. The object is named after the queue id, as a buffered body is (body-store.ts);
// the job that refers to it is published only after end() resolved, so a pod that dies in
// between leaves an orphan for the collector (orphan-collector.ts), never a job without its body.
//
// abort() drops what is still queued and lets put() finish the object with what it has, then
// hands it to `discard`. It does not error the stream: put() would then purge the chunks
// itself, and the intake role may not purge (nats-roles.ts; deleting an object is a purge of
// its chunks), so under the production permissions the chunks would stay with no object
// naming them, where the orphan collector cannot see them. `discard` deletes through a
// connection that may (the delivery user's, or the only one when roles are not split); without
// one the finished object is an orphan like any other, removed by the collector after an hour.
import { createHash, type Hash } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { objectDigestHex } from './body-store.ts';
import { bodyError } from './errors.ts';

export interface BodyStreamOptions {
  /** Wait for each chunk's PubAck at most this long (default 5000 ms). */
  readonly chunkTimeoutMs?: number;
  /** write() returns false once this many bytes wait for put() (default 256 KiB). */
  readonly highWaterBytes?: number;
  /** Deletes an abandoned object through a connection allowed to; null: left to the orphan collector. */
  readonly discard?: ((name: string) => Promise<void>) | null;
  /** Called when put() took a chunk from the queue, with the bytes its write() said were reserved for it. */
  readonly taken?: (bytes: number) => void;
}

export interface StoredBodyObject {
  readonly name: string;
  readonly size: number;
  /** Lowercase hex SHA-256 of the object's bytes, checked against the server's digest. */
  readonly sha256: string;
}

export class BodyStream {
  readonly name: string;
  readonly #hash: Hash = createHash('sha256');
  readonly #queue: { chunk: Buffer; reserved: number }[] = [];
  readonly #highWater: number;
  readonly #taken: (bytes: number) => void;
  readonly #discard: ((name: string) => Promise<void>) | null;
  #queued = 0;
  #size = 0;
  #ended = false;
  #failed: Error | null = null;
  #abandoned = false;
  #wake: (() => void) | null = null;
  #drained: { promise: Promise<void>; resolve: () => void } | null = null;
  readonly #put: Promise<ObjectInfo>;

  constructor(store: ObjectStore, name: string, opts: BodyStreamOptions = {}) {
    this.name = name;
    this.#highWater = opts.highWaterBytes ?? 256 * 1024;
    this.#taken = opts.taken ?? (() => undefined);
    this.#discard = opts.discard === undefined ? (n) => deleteObject(store, n) : opts.discard;
    const source = new ReadableStream<Uint8Array>(
      { pull: (controller) => this.#pull(controller) },
      { highWaterMark: 0 }, // pull only when put() reads: the queue here is all that waits
    );
    this.#put = store.put({ name }, source, { timeout: opts.chunkTimeoutMs ?? 5_000 });
    // A failure is seen by end() or abort(); until then it only stops the writes.
    this.#put.catch((err: unknown) => {
      this.#failed ??= err instanceof Error ? err : new Error(String(err));
      this.#release();
    });
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Queues a chunk; false: wait for drained() before writing more. `reserved` is passed to `taken`. */
  write(chunk: Buffer, reserved = 0): boolean {
    if (this.#ended || this.#failed || this.#abandoned) return true;
    this.#queue.push({ chunk, reserved });
    this.#queued += chunk.length;
    this.#size += chunk.length;
    this.#hash.update(chunk);
    this.#wake?.();
    return this.#queued < this.#highWater;
  }

  /** Resolves when the queue is below its high-water mark again (or the write failed). */
  drained(): Promise<void> {
    if (this.#queued < this.#highWater || this.#failed) return Promise.resolve();
    if (!this.#drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#drained = { promise, resolve };
    }
    return this.#drained.promise;
  }

  /** Ends the object; resolves once its metadata is acknowledged and its digest checked. */
  async end(): Promise<StoredBodyObject> {
    if (this.#abandoned) throw bodyError(`object ${this.name} was abandoned`);
    this.#ended = true;
    this.#wake?.();
    const info = await this.#put;
    const sha256 = this.#hash.digest('hex');
    if (info.size !== this.#size || objectDigestHex(info) !== sha256) {
      throw bodyError(`object ${this.name} was stored as ${info.size} bytes with digest ${info.digest}, expected ${this.#size} bytes sha256 ${sha256}`);
    }
    return { name: this.name, size: this.#size, sha256 };
  }

  /** Stops the write and removes what it stored; never throws. */
  async abort(): Promise<void> {
    if (!this.#failed) {
      this.#abandoned = true;
      this.#queue.length = 0;
      this.#queued = 0;
      this.#ended = true;
      this.#release();
    }
    this.#wake?.();
    await this.#put.catch(() => undefined);
    try {
      await this.#discard?.(this.name);
    } catch {
      // The orphan collector (orphan-collector.ts) removes it later.
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.#queue.length === 0 && !this.#ended && !this.#failed) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
    if (this.#failed) return controller.error(this.#failed);
    const next = this.#queue.shift();
    if (next) {
      this.#queued -= next.chunk.length;
      this.#taken(next.reserved);
      controller.enqueue(next.chunk);
      if (this.#queued < this.#highWater) this.#release();
      return;
    }
    controller.close();
  }

  #release(): void {
    const d = this.#drained;
    this.#drained = null;
    d?.resolve();
  }
}

/** Deletes object `name` if it is there (the store's connection must be allowed to purge). */
export async function deleteObject(store: ObjectStore, name: string): Promise<void> {
  const info = await store.info(name);
  if (info && !info.deleted) await store.delete(name);
}
