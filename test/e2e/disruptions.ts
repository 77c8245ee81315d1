// What each e2e scenario does to the install while the load runs (issue 11 item 3), and
// how it waits for the system to be whole again afterwards. Each disruption resolves with
// a note for the log; `restore` resolves once every pod is back and Ready (and the deleted
// NATS pod has shown it kept its data), with a note when it has one.
import assert from 'node:assert/strict';
import { listPods, waitPodsReady } from '../harness/node/workloads.ts';
import { waitFor } from '../harness/process.ts';
import { MTA_DEPLOYMENT, MTA_REPLICAS, MTA_SELECTOR, NATS_NS, NATS_REPLICAS, NS, RELEASE, type E2eInstall } from './install.ts';
import { readMetrics, readyMtaPods } from './mta-pods.ts';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { join } from 'node:path';

export interface Disruption {
  readonly name: string;
  disrupt(e2e: E2eInstall): Promise<string>;
  /** Resolves once whole again, with a note for the log when there is more to say. */
  restore(e2e: E2eInstall): Promise<string | undefined>;
}

const minute = 60_000;
const mtaWhole = (e2e: E2eInstall): Promise<undefined> =>
  waitPodsReady(e2e.node, NS, { timeoutMs: 5 * minute, selector: MTA_SELECTOR, count: MTA_REPLICAS }).then(() => undefined);

/**
 * Ready MTA pods, those holding the most open MX sessions first (stafette_smtp_sessions_active
 * on each pod's /metrics), so a pod lost or evicted cuts the load's sessions in the middle
 * rather than, by chance, only a pod no client was connected to. A pod whose count cannot be
 * read sorts last, and says why.
 */
async function mtaPodsBySessions(e2e: E2eInstall): Promise<{ name: string; sessions: number; note: string }[]> {
  const pods = await readyMtaPods(e2e);
  const counted = await Promise.all(
    pods.map(async (p) => {
      try {
        const line = /^stafette_smtp_sessions_active\{listener="mx"\} (\d+)/m.exec(await readMetrics(p));
        if (!line) return { name: p.metadata.name, sessions: -1, note: 'no MX session gauge on /metrics' };
        return { name: p.metadata.name, sessions: Number(line[1]), note: `${line[1]} MX sessions open` };
      } catch (err) {
        return { name: p.metadata.name, sessions: -1, note: `/metrics unread: ${(err as Error).message}` };
      }
    }),
  );
  return counted.sort((a, b) => b.sessions - a.sessions);
}

const sessionsNote = (pods: readonly { name: string; note: string }[]) => pods.map((p) => `${p.name} ${p.note}`).join(', ');

interface JszStream {
  name: string;
  cluster?: { leader?: string };
  state?: { last_seq?: number };
}

/** The streams a NATS server holds a replica of, from its monitoring endpoint (port 8222). */
async function jszStreams(podIP: string): Promise<JszStream[]> {
  const res = await fetch(`http://${podIP}:8222/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(5_000) });
  const jsz = (await res.json()) as { account_details?: { stream_detail?: JszStream[] }[] };
  return jsz.account_details?.flatMap((a) => a.stream_detail ?? []) ?? [];
}

/** The NATS server leading the queue stream MAILQ, from a server's monitoring endpoint. */
async function queueLeader(e2e: E2eInstall): Promise<string> {
  for (const pod of await listPods(e2e.node, NATS_NS)) {
    if (!pod.status.podIP) continue;
    try {
      const leader = (await jszStreams(pod.status.podIP)).find((s) => s.name === 'MAILQ')?.cluster?.leader;
      if (leader) return leader;
    } catch {
      /* the next server */
    }
  }
  throw new Error('no NATS server names a leader of the MAILQ stream');
}

/** The last sequence of the MAILQ replica the named NATS pod holds (undefined: it holds none, or does not answer). */
async function queueLastSeq(e2e: E2eInstall, name: string): Promise<number | undefined> {
  const pod = (await listPods(e2e.node, NATS_NS)).find((p) => p.metadata.name === name && !p.metadata.deletionTimestamp);
  if (!pod?.status.podIP) return undefined;
  return (await jszStreams(pod.status.podIP)).find((s) => s.name === 'MAILQ')?.state?.last_seq;
}

/**
 * Deletes the NATS pod leading MAILQ mid-load, then checks that it came back with its data
 * (issue 11: the store is on a PersistentVolume, as helm/nats-values.yaml's fileStore.pvc):
 * the new pod's nats-server restored MAILQ from its store directory at start (the "Starting
 * restore for stream '<account> > MAILQ'" notice, which nats-server logs only for streams it
 * finds on disk), and its replica's last_seq is at least what the pod held before the delete.
 * The last_seq alone would not tell: a nats-server 2.14 whose store was wiped gets the stream
 * from the meta layer and catches up from the leader to the same last_seq within seconds,
 * without that notice (tried on a 3-server cluster on loopback).
 */
function natsLeaderLoss(): Disruption {
  let victim: { name: string; lastSeq: number } | undefined;
  return {
    name: 'nats-leader-loss',
    async disrupt(e2e) {
      const leader = await queueLeader(e2e);
      const lastSeq = await queueLastSeq(e2e, leader);
      assert.ok(lastSeq !== undefined && lastSeq > 0, `${leader} leads MAILQ but shows no last_seq of it (${lastSeq})`);
      victim = { name: leader, lastSeq };
      await e2e.node.ok(['delete', 'pod', '-n', NATS_NS, leader, '--wait=false']);
      return `deleted ${leader}, the leader of the MAILQ stream (its replica at last_seq ${lastSeq})`;
    },
    async restore(e2e) {
      await waitPodsReady(e2e.node, NATS_NS, { timeoutMs: 5 * minute, count: NATS_REPLICAS });
      await queueLeader(e2e);
      assert.ok(victim, 'restore before disrupt');
      const { name, lastSeq } = victim;
      const log = await e2e.node.ok(['logs', '-n', NATS_NS, name]);
      const restored = /Starting restore for stream '[^']*> MAILQ'[\s\S]*?Restored ([\d,]+) messages for stream '[^']*> MAILQ'/.exec(log);
      assert.ok(
        restored,
        `${name} came back without restoring MAILQ from its PersistentVolume (no "Starting restore for stream ... > MAILQ" in its log):\n${log.slice(0, 3000)}`,
      );
      const now = await waitFor(
        `${name}'s MAILQ replica at last_seq >= ${lastSeq}`,
        async () => {
          const seq = await queueLastSeq(e2e, name);
          return seq !== undefined && seq >= lastSeq ? seq : undefined;
        },
        { timeoutMs: minute, intervalMs: 1_000 },
      );
      return `${name} back with its data: restored ${restored[1]} messages of MAILQ from its PersistentVolume, its replica at last_seq ${now} (${lastSeq} before the delete)`;
    },
  };
}

/** POSTs an Eviction for the pod; resolves with the API server's refusal, or undefined once granted. */
async function evict(e2e: E2eInstall, pod: string): Promise<string | undefined> {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: NS } });
  const r = await e2e.node.run(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, '-f', '-'], { input: body });
  return r.code === 0 ? undefined : `${r.stderr}${r.stdout}`.trim();
}

export const disruptions: readonly Disruption[] = [
  {
    name: 'scale-down',
    async disrupt(e2e) {
      await e2e.node.ok(['scale', '-n', NS, `deployment/${MTA_DEPLOYMENT}`, '--replicas=1']);
      return `scaled ${MTA_DEPLOYMENT} from ${MTA_REPLICAS} to 1`;
    },
    async restore(e2e) {
      await waitPodsReady(e2e.node, NS, { timeoutMs: 5 * minute, selector: MTA_SELECTOR, count: 1 });
      await e2e.node.ok(['scale', '-n', NS, `deployment/${MTA_DEPLOYMENT}`, `--replicas=${MTA_REPLICAS}`]);
      return mtaWhole(e2e);
    },
  },
  {
    name: 'force-delete',
    async disrupt(e2e) {
      const pods = await mtaPodsBySessions(e2e);
      const victim = pods[0]!.name;
      await e2e.node.ok(['delete', 'pod', '-n', NS, victim, '--grace-period=0', '--force']);
      return `force-deleted ${victim} (${sessionsNote(pods)})`;
    },
    restore: mtaWhole,
  },
  {
    name: 'helm-upgrade',
    async disrupt(e2e) {
      const stamp = String(Date.now());
      await e2e.helm([
        'upgrade',
        RELEASE,
        join(REPO_ROOT, 'charts/stafette'),
        '-n',
        NS,
        '--reuse-values',
        '--set-string',
        `mta.podAnnotations.e2e-rollout=${stamp}`,
      ]);
      return `helm upgrade with mta.podAnnotations.e2e-rollout=${stamp} (a rolling restart)`;
    },
    async restore(e2e) {
      await e2e.node.ok(['rollout', 'status', '-n', NS, `deployment/${MTA_DEPLOYMENT}`, '--timeout=300s'], { timeoutMs: 310_000 });
      return mtaWhole(e2e);
    },
  },
  natsLeaderLoss(),
  {
    name: 'eviction',
    async disrupt(e2e) {
      const pods = await mtaPodsBySessions(e2e);
      const [first, second] = pods.map((p) => p.name);
      assert.ok(first && second, 'fewer than two Ready MTA pods to evict');
      const granted = await evict(e2e, first);
      assert.equal(granted, undefined, `the first eviction (${first}) was refused: ${granted}`);
      // The first is not replaced yet: the PDB (maxUnavailable 1) must refuse the second.
      const refused = await evict(e2e, second);
      assert.ok(refused !== undefined, `the PDB let a second MTA pod (${second}) be evicted while ${first} was not replaced`);
      assert.match(refused, /disruption budget|Too many requests|429/i);
      return `evicted ${first} (${sessionsNote(pods)}); the second eviction (${second}) refused: ${refused.split('\n')[0]}`;
    },
    restore: mtaWhole,
  },
];
