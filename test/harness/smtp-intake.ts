// A running SMTP intake for integration tests: a real nats-server -js, the queue set up as in
// production, the bundle rendered from examples/ by `stafette render` (example.com; alice@
// with password change-me-alice and sendAs @example.com; bob@ with change-me-bob; aliases
// postmaster/abuse/team/a.smith; catch-all alice@), and the three listeners on free loopback
// ports. Stored messages are read back from the stream to compare byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { checkBundle } from '../../bundle/check.ts';
import { decodeRecord, jobSubject, loadBody, type PublisherOptions, type QueueRecord } from '../../mta/src/queue/index.ts';
import {
  createIntake,
  listenerConfig,
  type Intake,
  type IntakeConfig,
  type IntakeOptions,
  type ListenerAddress,
  type ListenerConfig,
  type TlsMaterial,
} from '../../mta/src/smtp/index.ts';
import { generateSelfSignedCertificate } from '../../mta/src/smtp/self-signed-certificate.ts';
import { openQueue, type QueueFixture } from '../queue/queue-fixture.ts';
import { startNatsServer, type NatsServer } from './nats-server.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

export const exampleUsers = {
  alice: { user: 'alice@example.com', pass: 'change-me-alice' },
  bob: { user: 'bob@example.com', pass: 'change-me-bob' },
} as const;

/** The bundle `stafette render examples` produces, checked as the MTA loads it. */
export function renderExampleBundle(): IntakeConfig {
  const dir = mkdtempSync(join(tmpdir(), 'stafette-bundle-'));
  try {
    execFileSync(join(repoRoot, 'bin/stafette'), ['render', join(repoRoot, 'examples'), '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const parse = (name: string): unknown => JSON.parse(readFileSync(join(dir, 'bundle', name), 'utf8'));
    const checked = checkBundle(parse('bundle.json'), parse('secrets.json'));
    if (!checked.ok) throw new Error(`example bundle refused: ${checked.errors.join('; ')}`);
    return { bundle: checked.bundle, secrets: checked.secrets };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface IntakeFixtureOptions {
  /** nats-server name (log file name). */
  readonly name: string;
  /** Changes to each default listener (all get host 127.0.0.1 and a free port). */
  readonly listeners?: Partial<Record<'mx' | 'submission' | 'submissions', Partial<ListenerConfig>>>;
  readonly publisher?: Partial<PublisherOptions>;
  readonly intake?: Partial<IntakeOptions>;
  readonly config?: IntakeConfig;
}

export interface StoredMessage {
  readonly record: QueueRecord;
  readonly body: Buffer;
}

export interface IntakeFixture {
  readonly nats: NatsServer;
  readonly queue: QueueFixture;
  readonly intake: Intake;
  readonly mx: ListenerAddress;
  readonly submission: ListenerAddress;
  readonly submissions: ListenerAddress;
  readonly defaultTls: TlsMaterial;
  /** The bundle new sessions get; replace to simulate a reload. */
  config: IntakeConfig;
  stored(queueId: string): Promise<StoredMessage>;
  close(): Promise<void>;
}

let sharedTls: Promise<TlsMaterial> | undefined;

export async function startIntakeFixture(opts: IntakeFixtureOptions): Promise<IntakeFixture> {
  const defaultTls = await (sharedTls ??= generateSelfSignedCertificate(['default.test']));
  const nats = await startNatsServer({ name: opts.name });
  const queue = await openQueue(nats.url, {}, opts.publisher ?? {});
  const listeners = (['mx', 'submission', 'submissions'] as const).map((name) =>
    listenerConfig(name, { host: '127.0.0.1', port: 0, reverseDns: false, ...opts.listeners?.[name] }),
  );
  const fixture = {
    config: opts.config ?? renderExampleBundle(),
  } as IntakeFixture;
  const intake = createIntake({
    listeners,
    getConfig: () => fixture.config,
    publisher: queue.publisher,
    hostname: 'mx.example.com',
    defaultTls,
    ...opts.intake,
  });
  await intake.listen();
  const a = intake.addresses();
  return Object.assign(fixture, {
    nats,
    queue,
    intake,
    defaultTls,
    mx: a.mx!,
    submission: a.submission!,
    submissions: a.submissions!,
    async stored(queueId: string): Promise<StoredMessage> {
      const jsm = await jetstreamManager(queue.nc);
      const msg = await jsm.streams.getMessage(queue.settings.streamName, { last_by_subj: jobSubject(queue.settings, queueId) });
      if (!msg) throw new Error(`no job for ${queueId}`);
      const decoded = decodeRecord(msg.data);
      return { record: decoded.record, body: Buffer.from(await loadBody(queue.bodyStore, decoded)) };
    },
    async close() {
      await intake.close(1000);
      await queue.close();
      await nats.destroy();
    },
  });
}

/** The queue id from a "250 2.6.0 Ok: queued as <id>" reply. */
export function queueIdOf(reply: string): string {
  const m = /queued as ([0-9A-Z]{26})/.exec(reply);
  if (!m) throw new Error(`no queue id in ${JSON.stringify(reply)}`);
  return m[1]!;
}

/** Splits a stored body into our added header fields and the rest (what the client sent). */
export function splitAddedHeaders(body: Buffer, added: number): { headers: string[]; rest: Buffer } {
  const headers: string[] = [];
  let pos = 0;
  for (let i = 0; i < added; i++) {
    // A field ends at a CRLF not followed by a blank (folded continuation).
    let end = pos;
    for (;;) {
      end = body.indexOf('\r\n', end);
      if (end < 0) throw new Error('stored body ends inside a header field');
      if (body[end + 2] !== 0x09 && body[end + 2] !== 0x20) break;
      end += 2;
    }
    headers.push(body.subarray(pos, end).toString('utf8'));
    pos = end + 2;
  }
  return { headers, rest: body.subarray(pos) };
}
