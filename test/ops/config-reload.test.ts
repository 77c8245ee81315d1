// Configuration changes reach a running `stafette mta` without a restart: a new bundle mounted
// with the `..data` swap takes effect for the next session, and a broken one is refused while
// the last good one keeps working, with the refusal visible in the metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundleFiles, minimalBundle, writeMountedFiles } from '../../mta/src/config/load-bundle-fixture.ts';
import { stopAll, waitFor } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { startMtaProcess, testDomain, type MtaProcess } from './mta-process.ts';

const rcptTranscript = (recipient: string, reply: string) => `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<sender@remote.test>
s: 250 *
c: RCPT TO:<${recipient}>
s: ${reply}
c: QUIT
s: 221 *`;

describe('mta - configuration reload', () => {
  let m: MtaProcess;
  const pid = () => m.mta.pid;
  let startedPid: number;

  before(async () => {
    m = await startMtaProcess({ name: 'config-reload', addresses: [`alice@${testDomain}`] });
    startedPid = pid();
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  test('with the first bundle, alice is a known recipient and bob is not', async () => {
    assert.equal(await m.metric('stafette_config_bundle_info{revision="r1"}'), 1);
    await playTranscript(m.mx, rcptTranscript(`alice@${testDomain}`, '250 *'));
    await playTranscript(m.mx, rcptTranscript(`bob@${testDomain}`, '550 5.1.1 *'));
  });

  test('a new bundle dropped into the mounted directories takes effect for the next session, without a restart', async () => {
    m.publishBundle('r2', [`alice@${testDomain}`, `bob@${testDomain}`]);
    await waitFor('revision r2 in force', async () => (await m.metric('stafette_config_bundle_info{revision="r2"}')) === 1, { timeoutMs: 15_000 });
    await playTranscript(m.mx, rcptTranscript(`bob@${testDomain}`, '250 *'));
    assert.equal(pid(), startedPid, 'the same process');
    assert.equal(await m.metric('stafette_config_reloads_total'), 2);
  });

  test('a broken bundle is refused, the failure is counted, and the last good bundle keeps working', async () => {
    const broken = minimalBundle('r3', [`carol@${testDomain}`]);
    (broken.bundle.mailboxes[0] as { address: string }).address = 'carol@not-our-domain.test';
    const files = bundleFiles(broken);
    writeMountedFiles(m.configDir, files.config);
    writeMountedFiles(m.secretDir, files.secrets);

    await waitFor('the refusal to be counted', async () => (await m.metric('stafette_config_reload_failures_total')) === 1, { timeoutMs: 15_000 });
    assert.equal(await m.metric('stafette_config_last_load_result{result="refused"}'), 1);
    assert.equal(await m.metric('stafette_config_bundle_info{revision="r2"}'), 1, 'r2 stays in force');
    assert.equal(await m.metric('stafette_config_bundle_info{revision="r3"}'), undefined);
    await playTranscript(m.mx, rcptTranscript(`bob@${testDomain}`, '250 *'));
    assert.equal((await m.ops('/readyz')).status, 200, 'a refused update does not make the pod unready');

    const refusal = readFileSync(m.mta.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; errors?: string[]; keeping?: string })
      .find((e) => e.msg.startsWith('configuration bundle refused'));
    assert.deepEqual(
      refusal && [refusal.level, refusal.keeping, refusal.errors],
      ['error', 'r2', ['mailboxes[carol@not-our-domain.test]: domain is not in domains']],
      'the log says why, and which bundle stays in force',
    );
  });

  test('a config part without its secret part waits; when the secret part arrives the pair is applied', async () => {
    const next = bundleFiles(minimalBundle('r4', [`dave@${testDomain}`]));
    writeMountedFiles(m.configDir, next.config);
    await waitFor('the half-updated pair to be noticed', async () => (await m.metric('stafette_config_last_load_result{result="waiting"}')) === 1, {
      timeoutMs: 15_000,
    });
    await playTranscript(m.mx, rcptTranscript(`dave@${testDomain}`, '550 5.1.1 *'));

    writeMountedFiles(m.secretDir, next.secrets);
    await waitFor('revision r4 in force', async () => (await m.metric('stafette_config_bundle_info{revision="r4"}')) === 1, { timeoutMs: 15_000 });
    await playTranscript(m.mx, rcptTranscript(`dave@${testDomain}`, '250 *'));
    assert.equal(await m.metric('stafette_config_reload_failures_total'), 1, 'waiting for the other part is not a failure');
  });
});
