// The harness leaves no process, port or data behind, however a test run ends: a normal
// stop(), a test failing mid-way, a signal, or an uncaught error. Each case runs the
// lifecycle fixture as a child process and then checks its etcd and kube-apiserver
// PIDs, the API server's port and the throwaway work dir.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/kube-assets.ts';
import { startKubeApiServer } from '../harness/kube-apiserver.ts';
import { startProcess, waitFor } from '../harness/process.ts';

const scratch = mkdtempSync(join(tmpdir(), 'stafette-harness-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Report {
  pids: number[];
  port: number;
  workDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function assertNothingLeft(report: Report): Promise<void> {
  // The children are reaped by their parent on exit; give the kernel a moment.
  await waitFor('the etcd and kube-apiserver PIDs to be gone', () => report.pids.every((p) => !alive(p)), { timeoutMs: 10_000 });
  assert.ok(await portIsFree(report.port), `port ${report.port} is still bound`);
  assert.ok(!existsSync(report.workDir), `${report.workDir} is still there`);
}

/** Runs the fixture in `mode`; `whileRunning` may act on it once it has reported. */
async function runFixture(mode: string, whileRunning?: (pid: number) => void): Promise<{ code: number | string; report: Report; log: string }> {
  const out = join(scratch, `${mode}.json`);
  const child = startProcess(`fixture-${mode}`, process.execPath, [join(REPO_ROOT, 'test/harness/kube-lifecycle-fixture.ts')], {
    logDir: scratch,
    env: { ...process.env, FIXTURE_MODE: mode, FIXTURE_OUT: out },
  });
  if (whileRunning) {
    await waitFor(`the ${mode} fixture to report`, () => existsSync(out) && readFileSync(out, 'utf8').length > 0, { timeoutMs: 120_000 });
    whileRunning(child.pid);
  }
  const code = await Promise.race([
    child.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${mode} fixture did not exit`)), 180_000).unref()),
  ]);
  return { code, report: JSON.parse(readFileSync(out, 'utf8')) as Report, log: readFileSync(child.logFile, 'utf8') };
}

describe('the kube harness cleans up after itself', () => {
  test('stop() ends etcd and kube-apiserver by PID, frees the port and removes the work dir', async () => {
    const kube = await startKubeApiServer({ crdDir: null });
    const report = { pids: [kube.etcd.pid, kube.apiserver.pid], port: Number(new URL(kube.url).port), workDir: kube.workDir };
    assert.ok(report.pids.every(alive));
    await kube.stop();
    await assertNothingLeft(report);
  });

  test('a test that fails mid-way still stops both processes (after hook)', async () => {
    const { code, report, log } = await runFixture('fail');
    assert.equal(code, 1, log);
    assert.match(log, /deliberate failure mid-test/);
    await assertNothingLeft(report);
  });

  test('SIGTERM (the runner cancelling, or Ctrl-C) stops both processes', async () => {
    const { code, report } = await runFixture('signal', (pid) => process.kill(pid, 'SIGTERM'));
    assert.equal(code, 128 + 15);
    await assertNothingLeft(report);
  });

  test('an uncaught error kills both processes on exit', async () => {
    const { code, report, log } = await runFixture('crash');
    assert.equal(code, 1, log);
    assert.match(log, /deliberate uncaught error/);
    await assertNothingLeft(report);
  });
});
