// The deferred job: a message some of whose recipients wait for a later attempt.
//
// # Format, version 1
//
//     <state JSON, one line> LF <queue record, exactly as record.ts encodes it>
//
// The state line carries what the retry schedule and the final DSN need; the embedded queue
// record is the original one with `rcptTo` reduced to the recipients still pending (the
// delivered and bounced ones are gone, so no later attempt can send to them again). The
// queue id stays the lineage's id: logs, the delivered-recipient ledger and the body object
// all follow one message through every retry. JSON.stringify escapes every control
// character, so the state line never contains a raw LF and the first LF always ends it.
//
// State fields (all required, unknown ones refused):
//   v               1
//   failedAttempts  attempts made so far (all failed for the pending recipients)
//   firstAttemptAt  ISO time of the first attempt
//   lastAttemptAt   ISO time of the latest attempt
//   notBefore       ISO time the next attempt is due (what the schedule fires at)
//   held            true while an operator holds the message (`stafette queue hold`)
//   lastReplies     [{ recipient, code, enhanced, text, remoteMta? }] from the latest attempt
//   delayNotified   optional: recipients a delay notice (RFC 3461 DELAY) was sent for, so it
//                   goes out once; absent when none was (jobs of earlier versions never have it,
//                   and readers before it refuse a job that has it: upgrade every pod before a
//                   delay notice is due, within --delay-notice-after of the first new pod)
import { z } from 'zod';
import { recordFormatError } from '../queue/errors.ts';
import { decodeRecord, encodeRecord, splitJsonLine, type DecodedRecord, type QueueRecord } from '../queue/record.ts';
import { capReplyText } from '../reply.ts';
import type { LastReply } from './decision.ts';

export const deferredJobVersion = 1;

export interface DeferredState {
  readonly v: typeof deferredJobVersion;
  readonly failedAttempts: number;
  readonly firstAttemptAt: string;
  readonly lastAttemptAt: string;
  readonly notBefore: string;
  readonly held: boolean;
  readonly lastReplies: readonly LastReply[];
  readonly delayNotified?: readonly string[];
}

export interface DeferredJob {
  readonly state: DeferredState;
  readonly decoded: DecodedRecord;
}

const stateSchema = z.strictObject({
  v: z.literal(deferredJobVersion),
  failedAttempts: z.number().int().positive(),
  firstAttemptAt: z.iso.datetime({ offset: false }),
  lastAttemptAt: z.iso.datetime({ offset: false }),
  notBefore: z.iso.datetime({ offset: false }),
  held: z.boolean(),
  lastReplies: z.array(
    z.strictObject({
      recipient: z.string(),
      code: z.number().int(),
      enhanced: z.string(),
      text: z.string(),
      remoteMta: z.string().optional(),
    }),
  ),
  delayNotified: z.array(z.string()).optional(),
});

const LF = 0x0a;

export function encodeDeferredJob(state: DeferredState, record: QueueRecord, inlineBody: Uint8Array | null): Uint8Array {
  const capped = { ...state, lastReplies: state.lastReplies.map((r) => ({ ...r, text: capReplyText(r.text) })) };
  const parsed = stateSchema.safeParse(capped);
  if (!parsed.success) throw recordFormatError(`invalid deferred state: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const head = Buffer.from(JSON.stringify(parsed.data), 'utf8');
  return Buffer.concat([head, Buffer.from([LF]), encodeRecord(record, inlineBody)]);
}

/** Throws a QueueError of kind "format" on anything malformed. */
export function decodeDeferredJob(payload: Uint8Array): DeferredJob {
  const { json, rest } = splitJsonLine(payload, 'deferred job', 'state');
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw recordFormatError(`invalid deferred job state: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(state)'}: ${i.message}`).join('; ')}`);
  return { state: parsed.data, decoded: decodeRecord(rest) };
}
