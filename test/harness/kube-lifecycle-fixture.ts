// A program for test/kube/harness.test.ts, which runs it as a child to prove that the
// harness leaves nothing behind however a test run ends. It starts an API server,
// reports its PIDs, port and work dir as JSON on the file named by FIXTURE_OUT, then
// ends the way FIXTURE_MODE says:
//   fail   a node:test test fails mid-way; its after() hook stops the server
//   signal waits to be killed with SIGTERM/SIGINT
//   crash  throws an uncaught error without stopping anything
import { writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver.ts';

const mode = process.env.FIXTURE_MODE;
const out = process.env.FIXTURE_OUT;
if (!out || !mode) throw new Error('FIXTURE_MODE and FIXTURE_OUT are required');

async function startAndReport(): Promise<KubeApiServer> {
  const kube = await startKubeApiServer({ crdDir: null });
  writeFileSync(
    out!,
    JSON.stringify({
      pids: [kube.etcd.pid, kube.apiserver.pid],
      port: Number(new URL(kube.url).port),
      workDir: kube.workDir,
    }),
  );
  return kube;
}

if (mode === 'fail') {
  let kube: KubeApiServer | undefined;
  after(async () => {
    await kube?.stop();
  });
  test('fails after starting the API server', async () => {
    kube = await startAndReport();
    throw new Error('deliberate failure mid-test');
  });
} else if (mode === 'signal') {
  await startAndReport();
  setInterval(() => {
    /* stay alive until signalled */
  }, 60_000);
} else if (mode === 'crash') {
  await startAndReport();
  setTimeout(() => {
    throw new Error('deliberate uncaught error');
  }, 0);
}
