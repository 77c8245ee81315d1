// The engine with a scripted transport and in-memory effects: the order of writes, the
// ledger, DSNs and retries, without NATS or SMTP (those are in test/delivery/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../observability/logger.ts';
import { sha256Hex, type DecodedRecord, type QueueRecord } from '../queue/record.ts';
import type { RecipientOutcome, Transport } from './attempt.ts';
import type { DeferredState } from './deferred-job.ts';
import { ignoreDeliveryEvents } from './delivery-observer.ts';
import { createEngine, dsnId, pairKey, type EngineJob, type JobEffects, type LedgerEntry, type QueuedDsn } from './engine.ts';
import type { Router } from './routing.ts';
import { createDestinationHealth } from './destination-health.ts';
import { retryPolicy } from './retry-policy.ts';

const body = Buffer.from('From: <s@a.test>\r\nSubject: hi\r\n\r\nbody\r\n');
function record(rcpts: string[], from = 's@a.test'): QueueRecord {
  return {
    v: 1,
    queueId: '01JB0000000000000000000000',
    receivedAt: new Date(1_000_000).toISOString(),
    listener: 'mx',
    client: { ip: '192.0.2.1', helo: 'c', tls: null, authUser: null },
    envelope: { mailFrom: { address: from, params: [] }, rcptTo: rcpts.map((address) => ({ address, params: [] })) },
    body: { kind: 'inline', size: body.length, sha256: sha256Hex(body) },
  };
}
const decoded = (r: QueueRecord): DecodedRecord => ({ record: r, inlineBody: body });

// Each domain answers as scripted: ok → 250, soft → 450, hard → 550, hang → never.
const byDomain: Router = (_record, recipients) => {
  const groups = new Map<string, string[]>();
  for (const r of recipients) groups.set(r.split('@')[1]!, [...(groups.get(r.split('@')[1]!) ?? []), r]);
  return {
    groups: [...groups].map(([domain, rs]) => ({
      key: `mx:${domain}`,
      destination: { kind: 'mx', domain },
      deliveries: rs.map((r) => ({ address: r, envelopeRecipient: r })),
    })),
    unroutable: [],
  };
};
function scripted(calls: string[]): Transport {
  return {
    async deliver(a) {
      const domain = a.destination.kind === 'mx' ? a.destination.domain : '';
      calls.push(`${domain}:${a.recipients.join(',')}`);
      if (domain.startsWith('hang')) await new Promise((resolve) => a.signal.addEventListener('abort', resolve));
      return a.recipients.map((recipient): RecipientOutcome => {
        if (domain.startsWith('ok')) return { recipient, status: 'delivered', reply: { code: 250, enhanced: '2.0.0', text: 'ok' }, reason: '' };
        if (domain.startsWith('hard'))
          return { recipient, status: 'permanent', reply: { code: 550, enhanced: '5.1.1', text: 'no such user' }, reason: '', remoteMta: 'mx.hard' };
        return { recipient, status: 'transient', reply: { code: 450, enhanced: '4.3.0', text: 'later' }, reason: '' };
      });
    },
  };
}

function memoryEffects(log: string[]) {
  const ledger = new Set<string>();
  const dsns: QueuedDsn[] = [];
  const deferred: { state: DeferredState; record: QueueRecord }[] = [];
  const effects: JobEffects = {
    async loadBody() {
      return body;
    },
    async delivered(_id, pairs) {
      log.push('ledger-read');
      return new Set(pairs.map(pairKey).filter((k) => ledger.has(k)));
    },
    async recordDelivered(_id, pairs: readonly LedgerEntry[]) {
      log.push(`ledger-write:${pairs.map((p) => p.address).join(',')}`);
      for (const p of pairs) ledger.add(pairKey(p));
    },
    async queueDsn(dsn) {
      log.push('dsn');
      dsns.push(dsn);
    },
    async deferJob(state, r) {
      log.push('defer');
      deferred.push({ state, record: r });
    },
  };
  return { effects, ledger, dsns, deferred };
}

function engine(effects: JobEffects, calls: string[], now = { t: 2_000_000 }, observer = ignoreDeliveryEvents) {
  return createEngine({
    transport: scripted(calls),
    route: byDomain,
    effects,
    policy: () => retryPolicy({ delaysMs: [60_000], jitter: 0, lifetimeMs: 3_600_000 }),
    now: () => now.t,
    random: () => 0.5,
    randomHex: () => 'ab',
    hostname: 'mx.a.test',
    attemptTimeoutMs: 200,
    logger: silentLogger,
    observer,
  });
}
const job = (r: QueueRecord, over: Partial<EngineJob> = {}): EngineJob => ({
  decoded: decoded(r),
  state: null,
  redelivered: false,
  signal: new AbortController().signal,
  ...over,
});

test('accepting, deferring and rejecting domains: ledger, then DSN, then retry, in that order', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  const result = await engine(m.effects, calls).process(job(record(['a@ok.test', 'b@soft.test', 'c@hard.test'])));
  assert.equal(result.kind, 'done');
  assert.deepEqual(log, ['ledger-write:a@ok.test', 'dsn', 'defer'], 'no ledger read for fresh mail');
  assert.equal(m.dsns.length, 1);
  assert.deepEqual(m.dsns[0]!.sender.address, 's@a.test');
  assert.match(m.dsns[0]!.body.toString(), /Final-Recipient: rfc822; c@hard\.test/);
  assert.equal(m.dsns[0]!.queueId, dsnId(record([]).queueId, 0, 1_000_000));
  assert.deepEqual(
    m.deferred[0]!.record.envelope.rcptTo.map((r) => r.address),
    ['b@soft.test'],
  );
  assert.equal(m.deferred[0]!.state.failedAttempts, 1);
  assert.equal(m.deferred[0]!.state.notBefore, new Date(2_060_000).toISOString());
});

test('a retry never sends again to a recipient the ledger has, and a later success finishes the message', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  m.ledger.add(pairKey({ envelopeRecipient: 'a@ok.test', address: 'a@ok.test' }));
  const state: DeferredState = {
    v: 1,
    failedAttempts: 1,
    firstAttemptAt: new Date(1).toISOString(),
    lastAttemptAt: new Date(1).toISOString(),
    notBefore: new Date(1).toISOString(),
    held: false,
    lastReplies: [],
  };
  const result = await engine(m.effects, calls).process(job(record(['a@ok.test', 'b@ok2.test']), { state }));
  assert.deepEqual(calls, ['ok2.test:b@ok2.test']);
  assert.ok(result.kind === 'done' && result.finished);
  assert.deepEqual(log, ['ledger-read', 'ledger-write:b@ok2.test']);
});

test('a redelivered fresh job reads the ledger (a worker died after a remote 250)', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  m.ledger.add(pairKey({ envelopeRecipient: 'a@ok.test', address: 'a@ok.test' }));
  await engine(m.effects, calls).process(job(record(['a@ok.test']), { redelivered: true }));
  assert.deepEqual(calls, []);
});

test('a hanging destination is transient after the attempt deadline; others are not held up', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  const result = await engine(m.effects, calls).process(job(record(['a@ok.test', 'h@hang.test'])));
  assert.equal(result.kind, 'done');
  assert.deepEqual(log, ['ledger-write:a@ok.test', 'defer']);
  assert.deepEqual(
    m.deferred[0]!.record.envelope.rcptTo.map((r) => r.address),
    ['h@hang.test'],
  );
});

test('past the lifetime a deferring recipient bounces with one DSN; mail from <> bounces silently', async () => {
  const log: string[] = [];
  const m = memoryEffects(log);
  const late = { t: 1_000_000 + 3_600_000 };
  const state: DeferredState = {
    v: 1,
    failedAttempts: 7,
    firstAttemptAt: new Date(1).toISOString(),
    lastAttemptAt: new Date(1).toISOString(),
    notBefore: new Date(1).toISOString(),
    held: false,
    lastReplies: [],
  };
  await engine(m.effects, [], late).process(job(record(['b@soft.test']), { state }));
  assert.deepEqual(log, ['ledger-read', 'dsn']);
  assert.match(m.dsns[0]!.body.toString(), /Status: 4\.3\.0/);

  const log2: string[] = [];
  const m2 = memoryEffects(log2);
  await engine(m2.effects, []).process(job(record(['c@hard.test'], '')));
  assert.deepEqual(log2, [], 'no DSN to <>, nothing deferred');
});

test('a held job is deferred again without an attempt', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  const state: DeferredState = {
    v: 1,
    failedAttempts: 1,
    firstAttemptAt: new Date(1).toISOString(),
    lastAttemptAt: new Date(1).toISOString(),
    notBefore: new Date(1).toISOString(),
    held: true,
    lastReplies: [],
  };
  await engine(m.effects, calls).process(job(record(['b@ok.test']), { state }));
  assert.deepEqual(calls, []);
  assert.deepEqual(log, ['defer']);
  assert.equal(m.deferred[0]!.state.held, true);
});

test('a transport that throws makes its recipients transient, never lost', async () => {
  const log: string[] = [];
  const m = memoryEffects(log);
  const e = createEngine({
    transport: {
      async deliver() {
        throw new Error('bug');
      },
    },
    route: byDomain,
    effects: m.effects,
    policy: () => retryPolicy(),
    now: () => 2_000_000,
    random: () => 0.5,
    randomHex: () => 'ab',
    hostname: 'h',
    attemptTimeoutMs: 1000,
    logger: silentLogger,
    observer: ignoreDeliveryEvents,
  });
  await e.process(job(record(['a@ok.test'])));
  assert.deepEqual(log, ['defer']);
});

test('a destination no server answered is skipped for the next job (no worker waits on a black hole)', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const m = memoryEffects(log);
  const now = { t: 2_000_000 };
  const e = createEngine({
    transport: scripted(calls),
    route: byDomain,
    effects: m.effects,
    policy: () => retryPolicy({ delaysMs: [60_000], jitter: 0, lifetimeMs: 3_600_000 }),
    now: () => now.t,
    random: () => 0.5,
    randomHex: () => 'ab',
    hostname: 'h',
    attemptTimeoutMs: 100,
    logger: silentLogger,
    observer: ignoreDeliveryEvents,
    health: createDestinationHealth({ downForMs: 60_000 }),
  });
  await e.process(job(record(['a@hang.test'])));
  await e.process(job(record(['b@hang.test', 'c@ok.test'])));
  assert.deepEqual(calls, ['hang.test:a@hang.test', 'ok.test:c@ok.test'], 'the second job did not try hang.test');
  assert.equal(m.deferred.length, 2);
  assert.equal(m.deferred[1]!.state.lastReplies[0]!.enhanced, '4.4.1');
  now.t += 60_000;
  await e.process(job(record(['d@hang.test'])));
  assert.equal(calls.at(-1), 'hang.test:d@hang.test', 'tried again after the down period');
});

test('a delay notice goes out once, after the configured time; a success notice when NOTIFY asks for it', async () => {
  const log: string[] = [];
  const calls: string[] = [];
  const { effects, dsns, deferred } = memoryEffects(log);
  const now = { t: 1_000_000 + 10 * 60_000 };
  const e = createEngine({
    transport: scripted(calls),
    route: byDomain,
    effects,
    policy: () => retryPolicy({ delaysMs: [60_000], jitter: 0, lifetimeMs: 3_600_000 }),
    now: () => now.t,
    random: () => 0.5,
    randomHex: () => 'ab',
    hostname: 'mx.a.test',
    attemptTimeoutMs: 200,
    logger: silentLogger,
    observer: ignoreDeliveryEvents,
    delayNoticeAfterMs: 5 * 60_000,
  });
  const r = record(['x@soft.test', 'y@ok.test']);
  const withNotify: QueueRecord = {
    ...r,
    envelope: {
      ...r.envelope,
      rcptTo: [
        { address: 'x@soft.test', params: [] },
        { address: 'y@ok.test', params: [{ name: 'NOTIFY', value: 'SUCCESS' }] },
      ],
    },
  };
  await e.process(job(withNotify));
  const texts = dsns.map((d) => d.body.toString());
  assert.equal(texts.length, 2);
  assert.ok(texts.some((t) => /Subject: Delayed Mail/.test(t) && /Action: delayed/.test(t) && /Final-Recipient: rfc822; x@soft\.test/.test(t)));
  assert.ok(texts.some((t) => /Action: relayed/.test(t) && /Final-Recipient: rfc822; y@ok\.test/.test(t)));
  assert.deepEqual(deferred[0]!.state.delayNotified, ['x@soft.test']);
  assert.notEqual(dsns[0]!.queueId, dsns[1]!.queueId);

  // The retry: still failing, already told: no second delay notice.
  now.t += 60_000;
  await e.process(job(deferred[0]!.record, { state: deferred[0]!.state }));
  assert.equal(dsns.length, 2);
  assert.deepEqual(deferred[1]!.state.delayNotified, ['x@soft.test']);
});

test('mail whose SPF or DMARC failed at intake bounces without a DSN (backscatter), counted; softfail still gets one', async () => {
  const events: string[] = [];
  const observer = { ...ignoreDeliveryEvents, dsn: (e: string) => void events.push(e) };
  for (const senderAuth of [
    { spf: 'fail', dmarc: 'none' },
    { spf: 'pass', dmarc: 'fail' },
  ]) {
    const log: string[] = [];
    const m = memoryEffects(log);
    const result = await engine(m.effects, [], undefined, observer).process(job({ ...record(['c@hard.test', 'b@soft.test']), senderAuth }));
    assert.equal(result.kind, 'done');
    assert.deepEqual(log, ['defer'], 'no DSN queued');
    assert.equal(m.deferred[0]!.record.senderAuth, senderAuth, 'the retry keeps the verdict');
  }
  assert.deepEqual(events, ['dropped_backscatter', 'dropped_backscatter']);
  const log: string[] = [];
  const m = memoryEffects(log);
  await engine(m.effects, []).process(job({ ...record(['c@hard.test']), senderAuth: { spf: 'softfail', dmarc: null } }));
  assert.deepEqual(log, ['dsn']);
});
