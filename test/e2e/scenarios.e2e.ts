// The e2e suite (issue 11; `npm run e2e`, `make e2e`): the install of install.ts on the
// real node, a few messages through the pods (here and mail-through-pods.ts), then each disruption of disruptions.ts
// under a bounded load (load.ts), every message counted at Dovecot by its id
// (receiver.ts). Each scenario asserts that no message that got a 250 is missing; at the
// end, after one more ack_wait for late redeliveries, one line per scenario:
//   e2e <scenario>: accepted N, delivered N, lost N, duplicated N, longest 4xx S s
// each followed by the duplicate window the MTA pods measured during it (ledger-window.ts):
//   e2e <scenario> duplicate window: N ledger writes, sum S s, mean M ms, largest non-empty bucket <= B ms; ...
// NATS runs with the role users of the README's install (docs/trust-model.md §5); the last
// test requires that the MTA pods are connected as the intake and delivery users and that
// no NATS server logged a permissions violation through all of it.
// E2E_MESSAGES (per scenario, default 400), E2E_SECONDS (default 30) and E2E_CLIENTS
// (default 4) bound the load; E2E_ONLY=<name,...> runs some scenarios.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { listPods } from '../harness/node/workloads.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { disruptions } from './disruptions.ts';
import { DOMAIN, installE2e, MAILBOX, MTA_SELECTOR, MX_NODE_PORT, NATS_NS, NATS_SELECTOR, NS, type E2eInstall } from './install.ts';
import { describeScenarioWindow, readLedgerWindows, scenarioWindow } from './ledger-window.ts';
import { runLoad, type LoadResult } from './load.ts';
import { mailThroughPods } from './mail-through-pods.ts';
import { followPodLogs, type PodLogs } from './pod-logs.ts';
import { countMaildir, settle, type MaildirCounter } from './receiver.ts';

const minute = 60_000;
const MESSAGES = Number(process.env.E2E_MESSAGES ?? 400);
const SECONDS = Number(process.env.E2E_SECONDS ?? 30);
const CLIENTS = Number(process.env.E2E_CLIENTS ?? 4);
const ONLY = process.env.E2E_ONLY?.split(',');
/** The queue consumer's ack_wait (mta/src/queue/settings.ts): a job a lost pod held comes back after it. */
const ACK_WAIT_MS = 60_000;
const run = `r${Date.now().toString(36)}`;
const mx = { host: '127.0.0.1', port: MX_NODE_PORT };

interface Outcome {
  readonly load: LoadResult;
  readonly prefix: string;
  /** The duplicate window line (ledger-window.ts), read from the pods at the end of the scenario. */
  readonly window: string;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
/** Every MTA pod's log, kept after the run (the pods, and the node, are gone by then). */
const LOG_FILE = `/tmp/stafette-e2e-${run}-mta.log`;
/** Every NATS server's log, replacements included: the permissions violations they report. */
const NATS_LOG_FILE = `/tmp/stafette-e2e-${run}-nats.log`;

/** What the clients saw: connections, sessions cut, failures by reason, when the last outage ended. */
function clientsSaw(load: LoadResult, disrupted: number): string {
  const failures = Object.entries(load.transientFailures)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const lastEnd = Math.max(...load.outages.map((o) => o.to));
  const after = load.outages.length > 0 ? `; the last ended ${seconds(lastEnd - disrupted)} s after the disruption` : '';
  return `clients: ${load.connections} connections, ${load.sessionsCut} sessions cut, failed attempts: ${failures || 'none'}; ${load.outages.length} outages, longest ${seconds(load.longestTransientMs)} s${after}`;
}

/** What the MTA pods logged about lost messages, by the queue id their 250 named. */
function explainLoss(lost: readonly string[], load: LoadResult): string {
  const log = readFileSync(LOG_FILE, 'utf8').split('\n');
  return lost
    .slice(0, 5)
    .map((id) => {
      const queueId = load.queueIds.get(id);
      const lines = queueId ? log.filter((l) => l.includes(queueId)).slice(0, 12) : [];
      return `${id} (queue id ${queueId ?? '?'}):\n${lines.map((l) => `    ${l.slice(0, 400)}`).join('\n')}`;
    })
    .join('\n');
}

describe('e2e: the chart on a real node under load', { timeout: 15 * minute }, () => {
  let e2e: E2eInstall;
  let counter: MaildirCounter;
  let podLogs: PodLogs | undefined;
  let natsLogs: PodLogs | undefined;
  const outcomes = new Map<string, Outcome>();

  before(
    async () => {
      e2e = await installE2e((line) => console.log(line));
      counter = countMaildir(e2e.dovecot.maildir(MAILBOX));
      podLogs = followPodLogs(e2e.node, NS, MTA_SELECTOR, LOG_FILE);
      natsLogs = followPodLogs(e2e.node, NATS_NS, NATS_SELECTOR, NATS_LOG_FILE);
    },
    { timeout: 8 * minute },
  );

  after(
    async () => {
      await podLogs?.stop();
      await natsLogs?.stop();
      if (!e2e) return;
      console.log(`e2e: the MTA pods' logs are in ${LOG_FILE}, the NATS servers' in ${NATS_LOG_FILE}`);
      const stopping = Date.now();
      const left = await e2e.stop();
      console.log(`e2e: node taken down in ${seconds(Date.now() - stopping)} s`);
      assert.deepEqual(left, [], 'the machine is not as it was before the node started');
    },
    { timeout: 3 * minute },
  );

  test('MX mail to the Mailbox lands in Dovecot; a bad recipient gets 550', async () => {
    const prefix = `${run}-smoke`;
    const load = await runLoad({ ...mx, from: 'sender@elsewhere.test', to: MAILBOX, idPrefix: prefix, messages: 3, seconds: 1, clients: 1 });
    assert.equal(load.accepted.length, 3);
    const tally = await settle(counter, prefix, load.accepted, { quietMs: ACK_WAIT_MS, timeoutMs: 2 * minute });
    assert.deepEqual(tally.lost, []);
    await playTranscript(
      mx,
      `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<sender@elsewhere.test>
s: 250 *
c: RCPT TO:<nobody@${DOMAIN}>
s: 550 5.1.1 *
c: QUIT
s: 221 *`,
    );
  });

  mailThroughPods(() => e2e, run);

  for (const d of disruptions) {
    test(`${d.name} under load loses nothing`, { skip: ONLY !== undefined && !ONLY.includes(d.name) }, async (t) => {
      const prefix = `${run}-${d.name}`;
      const windowsBefore = await readLedgerWindows(e2e);
      const loading = runLoad({ ...mx, from: 'sender@elsewhere.test', to: MAILBOX, idPrefix: prefix, messages: MESSAGES, seconds: SECONDS, clients: CLIENTS });
      // A quarter into the load, so mail is flowing on both sides of the disruption.
      await sleep((SECONDS * 1000) / 4);
      const disrupted = Date.now();
      const note = await d.disrupt(e2e);
      const restored = await d.restore(e2e);
      const whole = Date.now() - disrupted;
      const load = await loading;
      outcomes.set(d.name, { load, prefix, window: `e2e ${d.name} duplicate window: not read (the scenario failed before its end)` });
      const tally = await settle(counter, prefix, load.accepted, { quietMs: ACK_WAIT_MS + 30_000, timeoutMs: 6 * minute });
      const window = describeScenarioWindow(d.name, scenarioWindow(windowsBefore, await readLedgerWindows(e2e)));
      outcomes.set(d.name, { load, prefix, window });
      t.diagnostic(
        `${d.name}: load ${load.accepted.length} in ${seconds(load.elapsedMs)} s; outages ${JSON.stringify(load.outages.map((o) => ({ ...o, from: o.from - disrupted, to: o.to - disrupted })))}`,
      );
      console.log(
        `e2e ${d.name}: ${note}${restored ? `; ${restored}` : ''}; whole again ${seconds(whole)} s after the disruption; ${clientsSaw(load, disrupted)}`,
      );
      console.log(window);
      assert.deepEqual(load.rejected, [], 'permanent refusals under load');
      assert.deepEqual(load.abandoned, [], 'messages the senders gave up on');
      assert.deepEqual(tally.lost, [], `accepted and never delivered (${tally.lost.length}); the MTA logs say:\n${explainLoss(tally.lost, load)}`);
    });
  }

  test('summary: one line per scenario, counted again after one more ack_wait', async () => {
    if (outcomes.size === 0) return;
    await sleep(ACK_WAIT_MS + 5_000);
    const lost: string[] = [];
    for (const [name, { load, prefix, window }] of outcomes) {
      const tally = await settle(counter, prefix, load.accepted, { quietMs: 0, timeoutMs: 0 });
      console.log(
        `e2e ${name}: accepted ${tally.accepted}, delivered ${tally.delivered}, lost ${tally.lost.length}, duplicated ${tally.duplicated}, longest 4xx ${seconds(load.longestTransientMs)} s`,
      );
      console.log(window);
      if (tally.lost.length > 0) lost.push(`${name}: ${tally.lost.length}`);
    }
    assert.deepEqual(lost, [], 'scenarios that lost accepted mail');
  });

  test('the NATS role users did everything within their permissions', async () => {
    // Who the MTA pods are to NATS now: every client connection's authorized user, from each
    // server's /connz (monitoring port); only the two MTA roles, never the admin or nobody.
    const users = new Set<string>();
    for (const pod of await listPods(e2e.node, NATS_NS, NATS_SELECTOR)) {
      const res = await fetch(`http://${pod.status.podIP}:8222/connz?auth=true&limit=1024`, { signal: AbortSignal.timeout(5_000) });
      const connz = (await res.json()) as { connections?: { authorized_user?: string }[] };
      for (const c of connz.connections ?? []) users.add(c.authorized_user || '(no user)');
    }
    console.log(`e2e nats users: the MTA pods' connections are authorized as ${[...users].sort().join(', ')}`);
    assert.deepEqual([...users].sort(), ['stafette-delivery', 'stafette-intake']);
    // nats-server logs "Publish Violation", "Subscription Violation" and "Authorization
    // Violation" (a refused login) for what a user's permissions refuse.
    const violations = readFileSync(NATS_LOG_FILE, 'utf8')
      .split('\n')
      .filter((l) => / Violation /.test(l));
    console.log(`e2e nats permissions: ${violations.length} violations in the NATS servers' logs`);
    assert.deepEqual(violations.slice(0, 20), [], 'the NATS servers refused a Stafette role user something');
  });
});
