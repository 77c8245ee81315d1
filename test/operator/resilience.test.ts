// The operator crashing at any point converges to the same state with no duplicate
// objects, and of two replicas exactly one leads, the other taking over when it dies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubeClient } from '../../operator/src/kube/client.ts';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.ts';
import { waitFor } from '../harness/process.ts';
import { interruptAfter } from './interrupting-client.ts';
import { getJson, kubeConfigFor, runOperator, waitForCondition } from './operator-fixture.ts';

async function names(kube: KubeApiServer, ns: string, kind: string): Promise<string[]> {
  const list = await getJson<{ items: { metadata: { name: string } }[] }>(kube, ['get', kind, '-n', ns]);
  return list.items.map((i) => i.metadata.name).sort();
}

describe('operator resilience', () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer();
  });
  after(async () => {
    await kube?.stop();
  });

  test('killed right after each of its writes and started again, it converges with no duplicate objects', async (t) => {
    const ns = 'crash';
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    const real = kubeClient(kubeConfigFor(kube));
    let restarts = 0;
    const writes: string[] = [];
    for (; restarts < 60; restarts += 1) {
      const interrupting = interruptAfter(real, 1);
      const operator = await runOperator(kube, ns, { client: interrupting.client, leaseDurationMs: 1500, identity: `crash-${restarts}` });
      // Until it wrote once (then it is dead), or it had nothing left to write.
      const wrote = await waitFor(
        'a write, or a quiet operator',
        async () => {
          if (interrupting.killed()) return 'wrote';
          if (operator.isLeader()) {
            await operator.idle();
            await sleep(1500);
            if (!interrupting.killed() && interrupting.writes() === 0) return 'quiet';
          }
          return undefined;
        },
        { timeoutMs: 30_000 },
      );
      await operator.stop().catch(() => {});
      writes.push(...interrupting.log);
      if (wrote === 'quiet') break;
    }
    t.diagnostic(`converged after ${restarts} restarts; writes: ${writes.join(', ')}`);
    assert.ok(restarts > 5 && restarts < 60, `converged after ${restarts} restarts: ${writes.join(', ')}`);
    const operator = await runOperator(kube, ns, { identity: 'final' });
    try {
      for (const r of ['maildomain/example-com', 'mailbox/alice', 'mailbox/bob', 'relay/partner']) await waitForCondition(kube, r, ns, 'True');
      assert.deepEqual(
        (await names(kube, ns, 'secrets')).filter((n) => n.includes('dkim')),
        ['example-com-dkim-s2026'],
      );
      assert.deepEqual(
        (await names(kube, ns, 'configmaps')).filter((n) => n.startsWith('stafette')),
        ['stafette-bundle'],
      );
      assert.deepEqual(
        (await names(kube, ns, 'secrets')).filter((n) => n.startsWith('stafette-bundle')),
        ['stafette-bundle-password-index', 'stafette-bundle-secrets-0', 'stafette-bundle-secrets-1'],
      );
    } finally {
      await operator.stop();
    }
  });

  test('of two replicas exactly one leads, and the other takes over within the lease time when it dies', async (t) => {
    const ns = 'replicas';
    const leaseDurationMs = 3000;
    await kube.ok(['create', 'namespace', ns]);
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', 'examples/']);
    const real = kubeClient(kubeConfigFor(kube));
    const clients = { a: interruptAfter(real, Number.MAX_SAFE_INTEGER), b: interruptAfter(real, Number.MAX_SAFE_INTEGER) };
    const replicas = {
      a: await runOperator(kube, ns, { client: clients.a.client, identity: 'replica-a', leaseDurationMs }),
      b: await runOperator(kube, ns, { client: clients.b.client, identity: 'replica-b', leaseDurationMs }),
    };
    t.after(async () => {
      await replicas.a.stop().catch(() => {});
      await replicas.b.stop().catch(() => {});
    });

    await waitFor('a leader', () => replicas.a.isLeader() || replicas.b.isLeader());
    await waitForCondition(kube, 'maildomain/example-com', ns, 'True');
    for (let i = 0; i < 10; i += 1) {
      assert.equal(Number(replicas.a.isLeader()) + Number(replicas.b.isLeader()), 1, 'exactly one leader');
      await sleep(300);
    }
    const leader = replicas.a.isLeader() ? 'a' : 'b';
    const follower = leader === 'a' ? 'b' : 'a';
    const lease = await getJson<{ spec: { holderIdentity: string } }>(kube, ['get', 'lease/stafette-operator', '-n', ns]);
    assert.equal(lease.spec.holderIdentity, `replica-${leader}`);

    // The leader dies: no more renewals, and the lease is not released.
    const diedAt = Date.now();
    clients[leader].kill();
    await waitFor('the follower leading', () => replicas[follower].isLeader(), { timeoutMs: leaseDurationMs + 5000 });
    t.diagnostic(`took over ${Date.now() - diedAt} ms after the leader died (lease ${leaseDurationMs} ms)`);
    const after = await getJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>(kube, ['get', 'lease/stafette-operator', '-n', ns]);
    assert.equal(after.spec.holderIdentity, `replica-${follower}`);
    assert.ok(after.spec.leaseTransitions >= 1);
  });
});
