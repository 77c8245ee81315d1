// The maildir transport, for single-node and local runs: one file per message in
// <path>/new, written atomically the maildir way: the whole message into <path>/tmp under
// a unique name, fsync, then rename into new/ (and fsync the directory), so a reader never
// sees half a message and a crash leaves at most a stray file in tmp/.
//
// One file per attempt: every recipient of a maildir destination shares the directory (a
// mailbox and its aliases). Lines end in LF, as maildir readers expect; a Return-Path and a
// Delivered-To header are added on top (as Dovecot's LDA does).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { C, SE } from '../codes.ts';
import { reply } from '../reply.ts';
import { sameOutcome, wholeBody, type DeliveryAttempt, type RecipientOutcome, type Transport } from '../delivery/attempt.ts';
import { describeError } from '../errors.ts';

export interface MaildirOptions {
  readonly now?: () => Date;
}

let counter = 0;

export function createMaildirTransport(options: MaildirOptions = {}): Transport {
  const now = options.now ?? (() => new Date());
  return {
    async deliver(attempt: DeliveryAttempt): Promise<RecipientOutcome[]> {
      const { destination, recipients, record } = attempt;
      if (destination.kind !== 'maildir') throw new Error(`maildir cannot deliver to a ${destination.kind} destination`);
      const headers = `Return-Path: <${record.envelope.mailFrom.address}>\nDelivered-To: ${recipients.join(', ')}\n`;
      const content = Buffer.concat([Buffer.from(headers, 'utf8'), toLf(wholeBody(attempt))]);
      try {
        const name = await writeMaildirMessage(destination.path, content, now());
        return sameOutcome(recipients, 'delivered', reply(C.C250OK, SE.Other0, 'Delivered to maildir'), `written to ${join(destination.path, 'new', name)}`);
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        const full = code === 'ENOSPC' || code === 'EDQUOT';
        return sameOutcome(
          recipients,
          'transient',
          full ? reply(C.C452StorageFull, SE.MailboxFull2, 'Mailbox full') : reply(C.C451LocalError, SE.MailSystem0, 'Mailbox temporarily unavailable'),
          `maildir ${destination.path}: ${describeError(err)}`,
        );
      }
    },
  };
}

/** Writes `content` into maildir `path` (creating tmp/new/cur), returns the file name in new/. */
export async function writeMaildirMessage(path: string, content: Buffer, time: Date): Promise<string> {
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(path, sub), { recursive: true, mode: 0o700 });
  const seconds = Math.floor(time.getTime() / 1000);
  const micros = (time.getTime() % 1000) * 1000;
  const name = `${seconds}.M${micros}P${process.pid}Q${++counter}R${randomBytes(8).toString('hex')}.${osHostname().replace(/[/:]/g, '_')},S=${content.length}`;
  const temporary = join(path, 'tmp', name);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temporary, { force: true });
    throw err;
  }
  await file.close();
  await rename(temporary, join(path, 'new', name));
  const dir = await open(join(path, 'new'), constants.O_RDONLY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return name;
}

/** CRLF → LF (maildir files use the local line end). */
export function toLf(body: Buffer): Buffer {
  if (!body.includes('\r\n')) return body;
  return Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}
