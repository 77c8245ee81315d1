// The binaries the harness runs are the pinned ones from the cache (built by
// tools/go-build/{kube,helm}.sh), each reporting the version it was pinned at, so a
// stale cache or a kubectl picked up from PATH cannot slip into the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { helmBinary, helmVersion, kubeAssets } from '../harness/kube-assets.ts';

const run = async (bin: string, ...args: string[]) => (await promisify(execFile)(bin, args, { timeout: 30_000 })).stdout;

test('kube-apiserver, kubectl and etcd are the versions test/kube-binaries/go.mod pins', async () => {
  const assets = kubeAssets();
  assert.equal((await run(assets.kubeApiserver, '--version')).trim(), `Kubernetes ${assets.version}`);
  const client = JSON.parse(await run(assets.kubectl, 'version', '--client', '-o', 'json')) as { clientVersion: { gitVersion: string } };
  assert.equal(client.clientVersion.gitVersion, assets.version);
  // etcd comes from the module graph Kubernetes pins (go.sum), reported as 3.x.
  assert.match(await run(assets.etcd, '--version'), /^etcd Version: 3\.\d+\.\d+$/m);
});

test('helm is the version tools/go-build/helm.sh pins', async () => {
  assert.equal((await run(helmBinary(), 'version', '--template', '{{.Version}}')).trim(), helmVersion());
});
