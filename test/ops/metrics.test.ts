// /metrics of a running `stafette mta` after real SMTP traffic: sessions, commands, accepted
// and rejected messages by reason, bytes, the publish latency histogram and the queue depth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../harness/process.ts';
import { playTranscript } from '../harness/smtp-transcript.ts';
import { startMtaProcess, testDomain, type MtaProcess } from './mta-process.ts';

const oneMessage = (recipient: string) => `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<sender@remote.test>
s: 250 *
c: RCPT TO:<${recipient}>
s: 250 *
c: DATA
s: 354 *
c: Subject: metrics
c:
c: hello
c: .
s: 250 *
c: QUIT
s: 221 *`;

describe('mta - metrics after traffic', () => {
  let m: MtaProcess;

  before(async () => {
    m = await startMtaProcess({ name: 'metrics', addresses: [`alice@${testDomain}`] });
    for (let i = 0; i < 3; i++) await playTranscript(m.mx, oneMessage(`alice@${testDomain}`));
    await playTranscript(
      m.mx,
      `
s: 220 *
c: EHLO client.test
s: 250 *
c: MAIL FROM:<sender@remote.test>
s: 250 *
c: RCPT TO:<nobody@${testDomain}>
s: 550 *
c: QUIT
s: 221 *`,
    );
  });
  after(async () => {
    await m?.close();
    await stopAll();
  });

  test('sessions and commands are counted per listener', async () => {
    assert.equal(await m.metric('stafette_smtp_sessions_total{listener="mx"}'), 4);
    assert.equal(await m.metric('stafette_smtp_sessions_active{listener="mx"}'), 0);
    assert.equal(await m.metric('stafette_smtp_commands_total{listener="mx",verb="RCPT"}'), 4);
    assert.equal(await m.metric('stafette_smtp_commands_total{listener="mx",verb="DATA"}'), 3);
  });

  test('accepted messages, their bytes and the publish latency histogram', async () => {
    assert.equal(await m.metric('stafette_smtp_messages_accepted_total{listener="mx"}'), 3);
    assert.ok((await m.metric('stafette_smtp_accepted_bytes_total{listener="mx"}'))! > 3 * 'hello'.length);
    assert.equal(await m.metric('stafette_queue_publish_duration_seconds_count{listener="mx"}'), 3);
    assert.equal(await m.metric('stafette_queue_publish_duration_seconds_bucket{le="+Inf",listener="mx"}'), 3);
  });

  test('a rejection is counted by its reason', async () => {
    assert.equal(await m.metric('stafette_smtp_rejections_total{listener="mx",reason="unknown_recipient"}'), 1);
  });

  test('the queue depth is read from JetStream at scrape time', async () => {
    assert.equal(await m.metric('stafette_queue_stats_up'), 1);
    assert.equal(await m.metric('stafette_queue_depth_messages'), 3);
    assert.equal(await m.metric('stafette_queue_pending_messages'), 3);
    assert.equal(await m.metric('stafette_queue_ack_pending_messages'), 0);
  });
});
