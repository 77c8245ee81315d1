// `make run`, the newcomer's first command, as a newcomer uses it: start it, send the
// printed swaks command, find the message in the maildir it names, Ctrl-C, start again
// and find the keys and the queue kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitFor } from '../harness/process.ts';

async function startRun(name: string, state: string, ports: Record<string, number>) {
  const env = {
    ...process.env,
    STAFETTE_STATE: state,
    STAFETTE_NATS_PORT: String(ports.nats),
    STAFETTE_MX_PORT: String(ports.mx),
    STAFETTE_SUBMISSION_PORT: String(ports.submission),
    STAFETTE_SUBMISSIONS_PORT: String(ports.submissions),
    STAFETTE_OPS_PORT: String(ports.ops),
  };
  const run = startProcess(name, 'bash', ['tools/run-local.sh'], { env, logDir: join(state, 'test-logs') });
  await waitFor('make run to say it is running', () => readFileSync(run.logFile, 'utf8').includes('Press Ctrl-C to stop.'), {
    timeoutMs: 90_000,
    intervalMs: 300,
  });
  return run;
}

test('make run starts a working mail system, prints how to use it, stops on Ctrl-C and keeps its state', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'stafette-run-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const ports = { nats: await freePort(), mx: await freePort(), submission: await freePort(), submissions: await freePort(), ops: await freePort() };

  const first = await startRun('first-run', state, ports);
  const printed = readFileSync(first.logFile, 'utf8');
  assert.match(printed, new RegExp(`swaks --server 127.0.0.1:${ports.mx} --from someone@elsewhere.example --to bob@example.com`));
  assert.match(printed, /--auth PLAIN --auth-user alice@example.com --auth-password change-me-alice/);

  const mx = spawnSync(
    'swaks',
    ['--server', `127.0.0.1:${ports.mx}`, '--from', 'someone@elsewhere.example', '--to', 'bob@example.com', '--header', 'Subject: hello'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(mx.stdout, /<- {2}250 2\.6\.0 Ok: queued as/);
  const submission = spawnSync(
    'swaks',
    [
      '--server',
      `127.0.0.1:${ports.submission}`,
      '--tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      'alice@example.com',
      '--auth-password',
      'change-me-alice',
      '--from',
      'alice@example.com',
      '--to',
      'bob@example.com',
      '--header',
      'Subject: from alice',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(submission.stdout, /<~ {2}250 2\.6\.0 Ok: queued as/);

  const inbox = join(state, 'mail', 'bob@example.com', 'new');
  const files = await waitFor(
    "both messages in bob's maildir",
    () => {
      try {
        const names = readdirSync(inbox);
        return names.length === 2 ? names : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 30_000 },
  );
  const subjects = files.map((f) => /^Subject: (.*)$/m.exec(readFileSync(join(inbox, f), 'utf8'))?.[1]).sort();
  assert.deepEqual(subjects, ['from alice', 'hello']);
  // alice's submission was sealed at intake and is DKIM-signed for a local mailbox too (docs/trust-model.md §2.2).
  const fromAlice = files.map((f) => readFileSync(join(inbox, f), 'utf8')).find((m) => m.includes('Subject: from alice'))!;
  assert.match(fromAlice, /^DKIM-Signature: [^]*d=example\.com/m);

  const key = readFileSync(join(state, 'render', 'dkim', 'example.com', 's2026.pem'), 'utf8');
  const sealKey = readFileSync(join(state, 'queue-seal.key'), 'utf8');
  assert.match(sealKey, /^[A-Za-z0-9_-]{43}\n$/);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, readFileSync(first.logFile, 'utf8').slice(-1500));
  await waitFor('the goodbye line in the log', () => /Stopped\. The queue .* keys and mail stay/.test(readFileSync(first.logFile, 'utf8')), {
    timeoutMs: 5_000,
  });

  const second = await startRun('second-run', state, ports);
  t.after(() => second.stop('SIGINT'));
  assert.equal(readFileSync(join(state, 'render', 'dkim', 'example.com', 's2026.pem'), 'utf8'), key);
  assert.doesNotMatch(readFileSync(second.logFile, 'utf8'), /generated .* DKIM key/);
  assert.equal(readFileSync(join(state, 'queue-seal.key'), 'utf8'), sealKey, 'the seal key is kept, so queued mail still verifies');
  second.child.kill('SIGINT');
  assert.equal(await second.exited, 0, readFileSync(second.logFile, 'utf8').slice(-1500));
});
