// The real node's own guarantees: one node per machine (a second start is refused while
// the first runs), a crashed run's node (its harness SIGKILLed, every daemon and pod left
// running) is taken down by the next start, and after the last stop the machine is as it
// was before the first one: processes, mounts, cgroups, netfilter, links, routes, sysctls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../harness/process.ts';
import { hostChanges, nodeProcesses, snapshotHost } from '../harness/node/host-state.ts';
import { LOCK_FILE } from '../harness/node/layout.ts';
import { startRealNode, type RealNode } from '../harness/node/real-node.ts';

const fixture = new URL('../harness/node/node-fixture.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'stafette-node-lifecycle-'));

function runFixture(mode: 'hold' | 'start', out: string) {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, FIXTURE_MODE: mode, FIXTURE_OUT: out }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('the real node harness', { timeout: 10 * 60_000 }, () => {
  const initial = snapshotHost();
  let node: RealNode | undefined;
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a crashed run's node is taken down by the next start, and a second start is refused while a node runs", async () => {
    const held = join(dir, 'held');
    const crashed = runFixture('hold', held);
    await waitFor('the first node to be up', () => existsSync(held) && readFileSync(held, 'utf8') === 'ready', { timeoutMs: 5 * 60_000, intervalMs: 500 });
    const leftBehind = nodeProcesses().length;
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    assert.ok(leftBehind >= 8, `the crashed run should leave its daemons running (found ${leftBehind})`);
    assert.ok(existsSync(LOCK_FILE), 'the crashed run should leave its lock');

    node = await startRealNode();
    const pods = await node.ok(['get', 'pods', '-A', '--no-headers']);
    assert.match(pods, /coredns-\S+\s+1\/1\s+Running/);

    const refused = join(dir, 'refused');
    const second = runFixture('start', refused);
    assert.equal(await second.exited, 1);
    assert.match(readFileSync(refused, 'utf8'), /NodeBusyError: a real node is already running on this machine \(pid \d+/);
    assert.equal((await node.ok(['get', 'node', node.nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).trim(), 'True');

    const left = await node.stop();
    node = undefined;
    assert.deepEqual(left, []);
    assert.deepEqual(hostChanges(initial, snapshotHost()), [], 'the machine is not as it was before the crashed run');
  });
});
