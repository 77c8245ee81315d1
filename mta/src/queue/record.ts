// The queue record: what intake stores for one accepted message and delivery reads back.
//
// # Format, version 1
//
// A record is the payload of one JetStream message on `mail.queue.job.<queueId>`:
//
//     <header JSON, UTF-8, one line> LF <inline body bytes, or nothing>
//
// The header is the JSON text of a QueueRecord (below). JSON.stringify escapes every control
// character (CR, LF, NUL, ...), quotes and backslashes, and writes unpaired UTF-16 surrogates
// as \uXXXX escapes, so the header never contains a raw LF byte (UTF-8 multi-byte sequences
// never contain 0x0A either) and the first LF always ends it. Every string therefore
// round-trips exactly: what the SMTP layer handed in is what delivery gets back, whatever
// quotes, newlines, NULs or 4-byte UTF-8 it holds. Nothing in a record is ever interpreted
// by a shell or a template.
//
// Header fields (all required but senderAuth and seal; unknown fields are refused so a typo cannot pass silently):
//   v            1. Readers refuse other versions; a new version adds a decoder, it never
//                changes the meaning of an old one.
//   queueId      26-character id (queue-id.ts); also the job's Nats-Msg-Id and object name.
//   receivedAt   ISO 8601 UTC time the message was accepted (from the injected clock).
//   listener     which listener accepted it, e.g. "mx", "submission", "submissions".
//   client       { ip, helo, tls: { protocol, cipher } | null, authUser: string | null }
//   envelope     { mailFrom: Address, rcptTo: Address[] (at least one) }
//                Address = { address, params: [{ name, value }] }; address "" is the null
//                sender <>; params keep the ESMTP parameters in the order given (BODY,
//                SMTPUTF8, SIZE, ENVID, RET on MAIL; NOTIFY, ORCPT on RCPT, ...), value null
//                for a keyword without "=value". Names and values are stored as received
//                (xtext decoded by smtp-server). DSN (RET, ENVID, NOTIFY, ORCPT) and
//                REQUIRETLS ride here: intake accepts only values mta/src/dsn/params.ts
//                accepts, and delivery reads them back with the same parser, so they needed no
//                field of their own and version 1 is unchanged.
//   body         { kind: "inline", size, sha256 }: the body follows the LF, `size` bytes;
//                { kind: "object", bucket, name, size, sha256 }: the body is the Object Store
//                object `name` in `bucket`, and nothing follows the LF.
//                sha256 is lowercase hex of the body bytes, checked on every read.
//                An object body may carry `prefix`: header fields intake added (Received,
//                Authentication-Results, spam verdict, Date, Message-ID) in front of a body it
//                streamed to the Object Store during DATA, before it knew them
//                (mta/src/smtp/body-streaming.ts). The body delivered is prefix + object;
//                size and sha256 are those of the object. Records without it mean what they
//                always meant, so version 1 is unchanged (older builds refuse it, as senderAuth).
//   senderAuth   optional: { spf, dmarc } the RFC 8601 results of the inbound checks on MX
//                (dmarc null when it was not evaluated). Delivery sends no DSN for mail whose
//                SPF or DMARC failed (its sender is likely forged: backscatter,
//                docs/spam-checks.md §3). Absent on mail that was not checked; records without
//                it mean what they always meant, so version 1 is unchanged. An MTA built before
//                this field refuses records that carry it (the schema is strict): during a
//                rolling update from such a build its delivery workers dead-letter them (kept on
//                mail.defer.dead for a human, not lost).
//   seal         optional (added after the first release, so older records still decode):
//                "v1." + base64url HMAC-SHA256 over the fields delivery trusts, written by
//                the publisher and verified by delivery (record-seal.ts, docs/trust-model.md §2.2).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeError } from '../errors.ts';
import { recordFormatError } from './errors.ts';
import { isQueueId } from './queue-id.ts';

export const recordVersion = 1;

export interface EsmtpParam {
  readonly name: string;
  /** null for a keyword parameter without "=value" (e.g. SMTPUTF8). */
  readonly value: string | null;
}

export interface EnvelopeAddress {
  /** The path as received, without angle brackets; "" for the null sender. */
  readonly address: string;
  readonly params: readonly EsmtpParam[];
}

export interface QueueEnvelope {
  readonly mailFrom: EnvelopeAddress;
  readonly rcptTo: readonly EnvelopeAddress[];
}

export interface ClientInfo {
  readonly ip: string;
  readonly helo: string;
  readonly tls: { readonly protocol: string; readonly cipher: string } | null;
  readonly authUser: string | null;
}

export type BodyRef =
  | { readonly kind: 'inline'; readonly size: number; readonly sha256: string }
  | {
      readonly kind: 'object';
      readonly bucket: string;
      readonly name: string;
      readonly size: number;
      readonly sha256: string;
      /** Header fields to put before the object's bytes (UTF-8), see above. */
      readonly prefix?: string;
    };

export interface QueueRecord {
  readonly v: typeof recordVersion;
  readonly queueId: string;
  readonly receivedAt: string;
  readonly listener: string;
  readonly client: ClientInfo;
  readonly envelope: QueueEnvelope;
  readonly body: BodyRef;
  readonly senderAuth?: SenderAuthResults;
  /** The queue seal (record-seal.ts); absent in records of an MTA before it. */
  readonly seal?: string;
}

/** What the inbound checks found about the sender (RFC 8601 result keywords). */
export interface SenderAuthResults {
  readonly spf: string;
  readonly dmarc: string | null;
}

/** A decoded record and, when the body travels inline, its bytes. */
export interface DecodedRecord {
  readonly record: QueueRecord;
  readonly inlineBody: Uint8Array | null;
}

/** A prefix is a few header fields; the cap keeps a record far below max_payload. */
export const maxPrefixChars = 256 * 1024;

const param = z.strictObject({ name: z.string(), value: z.string().nullable() });
const address = z.strictObject({ address: z.string(), params: z.array(param) });
const size = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const recordSchema = z.strictObject({
  v: z.literal(recordVersion),
  queueId: z.string().refine(isQueueId, 'not a queue id'),
  receivedAt: z.iso.datetime({ offset: false }),
  listener: z.string(),
  client: z.strictObject({
    ip: z.string(),
    helo: z.string(),
    tls: z.strictObject({ protocol: z.string(), cipher: z.string() }).nullable(),
    authUser: z.string().nullable(),
  }),
  envelope: z.strictObject({ mailFrom: address, rcptTo: z.array(address).min(1) }),
  body: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('inline'), size, sha256 }),
    z.strictObject({
      kind: z.literal('object'),
      bucket: z.string().min(1),
      name: z.string().min(1),
      size,
      sha256,
      prefix: z.string().max(maxPrefixChars).optional(),
    }),
  ]),
  senderAuth: z.strictObject({ spf: z.string().max(32), dmarc: z.string().max(32).nullable() }).optional(),
  seal: z.string().max(200).optional(),
});

const LF = 0x0a;

/** Lowercase hex SHA-256 of some bytes, as records store it. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Encodes a record. `inlineBody` must be given exactly when body.kind is "inline" and must
 * match its size and digest; the record is validated first, so a bad record never reaches
 * the queue.
 */
export function encodeRecord(record: QueueRecord, inlineBody: Uint8Array | null): Uint8Array {
  checkRecord(record);
  checkBody(record.body, inlineBody);
  const header = Buffer.from(JSON.stringify(record), 'utf8');
  const body = inlineBody ?? new Uint8Array(0);
  const out = new Uint8Array(header.length + 1 + body.length);
  out.set(header, 0);
  out[header.length] = LF;
  out.set(body, header.length + 1);
  return out;
}

/** Decodes a record; throws a QueueError of kind "format" on anything malformed. */
export function decodeRecord(payload: Uint8Array): DecodedRecord {
  const { json, rest } = splitJsonLine(payload, 'queue record', 'header');
  if (typeof json === 'object' && json !== null && 'v' in json && json.v !== recordVersion) {
    throw recordFormatError(`queue record version ${JSON.stringify(json.v)} is not supported (this MTA reads ${recordVersion})`);
  }
  const record = checkRecord(json);
  const inlineBody = record.body.kind === 'inline' ? rest : null;
  if (inlineBody === null && rest.length > 0) throw recordFormatError('queue record has bytes after the header but its body is in the Object Store');
  checkBody(record.body, inlineBody);
  return { record, inlineBody };
}

/**
 * The JSON line a payload starts with and the bytes after its LF: the layout of a queue record
 * (header, body) and of a deferred job (state, record). A missing line, or one that is not
 * UTF-8 JSON, is a QueueError of kind "format" naming `what` and its `line`.
 */
export function splitJsonLine(payload: Uint8Array, what: string, line: string): { json: unknown; rest: Uint8Array } {
  const end = payload.indexOf(LF);
  if (end < 0) throw recordFormatError(`${what} has no ${line} line`);
  try {
    return { json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(0, end))), rest: payload.subarray(end + 1) };
  } catch (err) {
    throw recordFormatError(`${what} ${line} is not UTF-8 JSON: ${describeError(err)}`);
  }
}

function checkRecord(value: unknown): QueueRecord {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
    throw recordFormatError(`invalid queue record: ${where}`);
  }
  return parsed.data;
}

function checkBody(body: BodyRef, inlineBody: Uint8Array | null): void {
  if (body.kind === 'object') {
    if (inlineBody !== null) throw recordFormatError('inline bytes given for a body stored in the Object Store');
    return;
  }
  if (inlineBody === null) throw recordFormatError('inline body missing');
  if (inlineBody.length !== body.size) throw recordFormatError(`inline body is ${inlineBody.length} bytes, record says ${body.size}`);
  if (sha256Hex(inlineBody) !== body.sha256) throw recordFormatError('inline body does not match its sha256');
}
