// The operator at scale: 1,000 MailDomains and 10,000 Mailboxes (10% with a password)
// applied to a real kube-apiserver, and the operator run as its own process, as in a
// cluster. Reports the time until every domain is Ready and the bundle holds every
// mailbox, the operator's peak memory (VmHWM), and the bundle's size; the operator's
// HTTP connections (TLS handshakes) and requests, informer restarts and writes. Then the
// operator is restarted against the converged cluster and its writes counted (there
// should be none): a second run, until it has been idle (no reconcile) for 15 s.
//
//   npm run bench:operator [-- --domains 1000 --mailboxes 10000 --password-every 10] [--dump-dir DIR]
//   OPERATOR_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" npm run bench:operator   # profile the operator
//
// --dump-dir writes the MailDomains, Mailboxes and bundle objects as JSON before and after the
// second run (first.json, second.json), to diff what a restarted operator wrote, and both
// operators' logs.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { conditionTypes } from '../crds/src/index.ts';
import { startKubeApiServer } from '../test/harness/kube-apiserver.ts';
import { freePort, startProcess, stopAll, waitFor } from '../test/harness/process.ts';
import { cpuSeconds } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    domains: { type: 'string', default: '1000' },
    mailboxes: { type: 'string', default: '10000' },
    'password-every': { type: 'string', default: '10' },
    'dump-dir': { type: 'string' },
  },
});
const domains = Number(values.domains);
const mailboxes = Number(values.mailboxes);
const passwordEvery = Number(values['password-every']);
const ns = 'scale';
const dumpDir = values['dump-dir'];

/** The resources and bundle objects the operator writes, for diffing the two runs (--dump-dir). */
async function dump(file: string): Promise<void> {
  if (dumpDir === undefined) return;
  mkdirSync(dumpDir, { recursive: true });
  const text = await kube.ok(['get', 'maildomains,mailboxes,configmaps,secrets', '-n', ns, '-o', 'json'], { timeoutMs: 300_000 });
  writeFileSync(join(dumpDir, file), text);
}

function manifests(): string[] {
  const docs: string[] = [];
  for (let d = 0; d < domains; d += 1) {
    docs.push(
      `apiVersion: stafette.dev/v1alpha1\nkind: MailDomain\nmetadata: {name: d${d}}\nspec: {domain: d${d}.example.com, inbound: {aliases: [{name: postmaster, to: [u0@d${d}.example.com]}]}}`,
    );
  }
  for (let m = 0; m < mailboxes; m += 1) {
    const d = m % domains;
    const u = Math.floor(m / domains);
    const password = m % passwordEvery === 0;
    if (password)
      docs.push(`apiVersion: v1\nkind: Secret\nmetadata: {name: pw-${m}, labels: {stafette.dev/secret-use: password}}\nstringData: {password: secret-${m}}`);
    docs.push(
      `apiVersion: stafette.dev/v1alpha1\nkind: Mailbox\nmetadata: {name: m${m}}\nspec: {address: u${u}@d${d}.example.com${password ? `, passwordSecretRef: {name: pw-${m}}` : ''}}`,
    );
  }
  return docs;
}

const interestingMetric =
  /^stafette_operator_(reconciles_total|reconcile_duration_seconds_(sum|count)|bundle_writes_total|informer_restarts_total|http_connections_total|http_requests_total|api_writes_total)/;

// The namespace may claim the benchmark's domains by the allow-list (docs/trust-model.md), so no DNS challenge is looked up.
const operatorArgs = (port: number) => [
  'operator',
  '--kubeconfig',
  kube.kubeconfig,
  '-n',
  ns,
  '--listen',
  `127.0.0.1:${port}`,
  '--dkim-propagation-delay',
  '5',
  '--domain-allow',
  `${ns}=*.example.com`,
  '--no-domain-challenge',
  '--log-level',
  'warn',
];

// The operator runs as the chart runs it: with the chart's V8 heap limit (operator.maxHeapMiB).
const { maxHeapMiB } = (parse(readFileSync('charts/stafette/values.yaml', 'utf8')) as { operator: { maxHeapMiB: number } }).operator;
// OPERATOR_NODE_OPTIONS (e.g. --cpu-prof --cpu-prof-dir=DIR) go to the operator only, after the heap limit.
const operatorNodeOptions = [maxHeapMiB > 0 ? `--max-old-space-size=${maxHeapMiB}` : '', process.env.OPERATOR_NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
const operatorEnv = { ...process.env, ...(operatorNodeOptions ? { NODE_OPTIONS: operatorNodeOptions } : {}) };

function vmKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

const vmHwmKiB = (pid: number) => vmKiB(pid, 'VmHWM');

/** The operator's V8 heap and external memory, as its /metrics says, in MiB. */
async function heapOf(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null))?.text();
  const mib = (name: string) => {
    const line = text?.split('\n').find((l) => l.startsWith(`stafette_operator_nodejs_${name} `));
    return line ? (Number(line.split(' ').pop()) / 2 ** 20).toFixed(0) : '?';
  };
  return `heap used ${mib('heap_size_used_bytes')} MiB of ${mib('heap_size_total_bytes')} MiB, external ${mib('external_memory_bytes')} MiB`;
}

const kube = await startKubeApiServer();
try {
  await kube.ok(['create', 'namespace', ns]);
  const docs = manifests();
  const applyStart = Date.now();
  for (let i = 0; i < docs.length; i += 500) {
    await kube.ok(['apply', '--server-side', '-n', ns, '-f', '-'], { input: docs.slice(i, i + 500).join('\n---\n'), timeoutMs: 300_000 });
  }
  const applySeconds = (Date.now() - applyStart) / 1000;

  const port = await freePort();
  // CPU seconds, not wall time, are what a shared machine does not blur: the operator's own
  // (all its threads, scrypt's and RSA's included) and the API server's and etcd's, from the
  // operator's start until convergence.
  const controlPlane = [kube.apiserver.pid, kube.etcd.pid];
  const controlPlaneCpuAtStart = cpuSeconds(controlPlane);
  const loadAtStart = loadavg()[0]!;
  const start = Date.now();
  const operator = startProcess('operator', './bin/stafette', operatorArgs(port), { logDir: kube.workDir, env: operatorEnv });
  let peak = 0;
  // Where the memory is when VmRSS is highest: the V8 heap (used, total) and memory outside
  // it (Buffers, scrypt's and OpenSSL's allocations count towards RSS only), from the
  // operator's Node.js metrics, sampled every 2 s.
  let highest = { rssKiB: 0, at: 0, heap: '' };
  let sampling = false;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, vmHwmKiB(operator.pid));
      const rssKiB = vmKiB(operator.pid, 'VmRSS');
      if (rssKiB > highest.rssKiB && !sampling) {
        sampling = true;
        void heapOf(port)
          .then((heap) => {
            if (rssKiB > highest.rssKiB) highest = { rssKiB, at: (Date.now() - start) / 1000, heap };
          })
          .finally(() => (sampling = false));
      }
    } catch {
      /* exited */
    }
  }, 2000);

  await waitFor(
    'every MailDomain Ready and every mailbox in the bundle',
    async () => {
      const list = JSON.parse(await kube.ok(['get', 'maildomains', '-n', ns, '-o', 'json'], { timeoutMs: 120_000 })) as {
        items: { status?: { conditions?: { type: string; status: string }[] } }[];
      };
      const ready = list.items.filter((i) => i.status?.conditions?.some((c) => c.type === conditionTypes.ready && c.status === 'True')).length;
      if (ready < domains) return undefined;
      const cm = JSON.parse(await kube.ok(['get', 'configmap', 'stafette-bundle', '-n', ns, '-o', 'json'])) as { binaryData: Record<string, string> };
      const bundle = JSON.parse(gunzipSync(Buffer.from(cm.binaryData['bundle.json.gz'] ?? '', 'base64')).toString()) as { mailboxes: unknown[] };
      return bundle.mailboxes.length === mailboxes ? true : undefined;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 5000 },
  );
  const convergeSeconds = (Date.now() - start) / 1000;
  const operatorCpu = cpuSeconds([operator.pid]);
  const controlPlaneCpu = cpuSeconds(controlPlane) - controlPlaneCpuAtStart;
  const loadAtConvergence = loadavg()[0]!;
  const convergedHeap = await heapOf(port);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const interesting = metrics.split('\n').filter((l) => interestingMetric.test(l));
  clearInterval(sampler);
  peak = Math.max(peak, vmHwmKiB(operator.pid));

  const cm = JSON.parse(await kube.ok(['get', 'configmap', 'stafette-bundle', '-n', ns, '-o', 'json'])) as { binaryData: Record<string, string> };
  const configBytes = Buffer.from(cm.binaryData['bundle.json.gz'] ?? '', 'base64').length;
  const shardBytes: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    const s = JSON.parse(await kube.ok(['get', 'secret', `stafette-bundle-secrets-${i}`, '-n', ns, '-o', 'json'])) as { data: Record<string, string> };
    shardBytes.push(Buffer.from(Object.values(s.data)[0] ?? '', 'base64').length);
  }
  await operator.stop();
  await dump('first.json');

  // The second run: a fresh operator against the converged cluster, until no reconcile ran for 15 s.
  const port2 = await freePort();
  const secondStart = Date.now();
  const second = startProcess('operator-2', './bin/stafette', operatorArgs(port2), { logDir: kube.workDir, env: operatorEnv });
  const reconcilesOf = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('stafette_operator_reconciles_total'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  // Idle only counts once its caches are listed (/readyz): before that it cannot reconcile.
  await waitFor('the restarted operator ready', async () => ((await fetch(`http://127.0.0.1:${port2}/readyz`).catch(() => null))?.ok ? true : undefined), {
    timeoutMs: 10 * 60_000,
    intervalMs: 500,
  });
  const readySeconds = (Date.now() - secondStart) / 1000;
  // Its first render: the first bundle reconcile that finished (it verifies or reuses every password hash first).
  let firstBundleSeconds: number | null = null;
  let last = -1;
  let quietSince = Date.now();
  const secondText = await waitFor(
    'the restarted operator idle for 15 s',
    async () => {
      const text = await (await fetch(`http://127.0.0.1:${port2}/metrics`).catch(() => null))?.text();
      if (text === undefined) return undefined;
      const n = reconcilesOf(text);
      if (
        firstBundleSeconds === null &&
        text.split('\n').some((l) => l.startsWith('stafette_operator_reconciles_total{controller="bundle"') && Number(l.split(' ').pop()) > 0)
      ) {
        firstBundleSeconds = (Date.now() - secondStart) / 1000;
      }
      // A reconcile still running (the bundle's, verifying every password hash) is not idle.
      const running = text.split('\n').some((l) => l.startsWith('stafette_operator_reconciles_in_flight') && Number(l.split(' ').pop()) > 0);
      if (n !== last || n === 0 || running) {
        last = n;
        quietSince = Date.now();
        return undefined;
      }
      return Date.now() - quietSince >= 15_000 ? text : undefined;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 1000 },
  );
  const secondCpu = cpuSeconds([second.pid]);
  await second.stop();
  await dump('second.json');

  console.log(`operator's highest VmRSS ${(highest.rssKiB / 1024).toFixed(0)} MiB at +${highest.at.toFixed(0)} s: ${highest.heap}`);
  console.log(`operator converged: ${convergedHeap}`);
  console.log(`operator heap limit: ${maxHeapMiB > 0 ? `${maxHeapMiB} MiB (charts/stafette/values.yaml operator.maxHeapMiB)` : "V8's default"}`);
  console.log(
    `first run, operator start to convergence: operator CPU ${operatorCpu.toFixed(1)} s, kube-apiserver + etcd CPU ${controlPlaneCpu.toFixed(1)} s, load average (1 min) ${loadAtStart.toFixed(1)} at start, ${loadAtConvergence.toFixed(1)} at convergence`,
  );
  console.log('first run:');
  console.log(interesting.join('\n'));
  console.log(
    `second run (operator restarted against the converged cluster): ready (caches listed) after ${readySeconds.toFixed(1)} s, its first bundle reconcile done after ${firstBundleSeconds === null ? '?' : (firstBundleSeconds as number).toFixed(1)} s (polled every 1 s)`,
  );
  console.log(`second run: operator CPU ${secondCpu.toFixed(1)} s`);
  console.log(
    secondText
      .split('\n')
      .filter((l) => interestingMetric.test(l))
      .join('\n'),
  );
  console.log(`| objects | applied in | operator converged in | operator peak RSS | bundle ConfigMap (gzip) | largest secret shard (gzip) |`);
  console.log(`|---|---|---|---|---|---|`);
  console.log(
    `| ${domains} MailDomains, ${mailboxes} Mailboxes (${Math.ceil(mailboxes / passwordEvery)} with passwords) | ${applySeconds.toFixed(0)} s | ${convergeSeconds.toFixed(0)} s | ${(peak / 1024).toFixed(0)} MiB | ${(configBytes / 1024).toFixed(0)} KiB | ${(Math.max(...shardBytes) / 1024).toFixed(0)} KiB |`,
  );
  if (dumpDir !== undefined) for (const log of ['operator.log', 'operator-2.log']) copyFileSync(join(kube.workDir, log), join(dumpDir, log));
} finally {
  await stopAll();
  await kube.stop();
}
