// The spam checks as `stafette mta` runs them from its flags (cli/mta-command.ts → main.ts):
// a whole MTA with --dnsbl-zones pointing at a blocklist dnsmasq serves and --rspamd-url at a
// real rspamd. A listed client is refused at MAIL, GTUBE after DATA, ham reaches the mailbox
// marked; the metrics count each by zone and action.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll, waitFor } from '../harness/process.ts';
import { gtube, startRspamd, type Rspamd } from '../harness/rspamd.ts';
import { sendMessage } from '../harness/smtp-send.ts';
import { startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

describe('DNSBL and rspamd configured by flags on a whole MTA', () => {
  let rspamd: Rspamd;
  let m: StandardsMta;
  before(async () => {
    rspamd = await startRspamd();
    m = await startStandardsMta('spam-checks', {
      hosts: { '2.0.0.127.bl.test': ['127.0.0.2'] },
      txt: { '2.0.0.127.bl.test': 'Listed by the test list' },
      mtaArgs: ['--dnsbl-zones', 'bl.test', '--rspamd-url', rspamd.url, '--rspamd-timeout', '5000'],
    });
  });
  after(async () => {
    await m.close();
    await rspamd.stop();
    await stopAll();
  });

  const send = (source: string, subject: string, text: string) =>
    sendMessage({
      host: m.mx.host,
      port: m.mx.port,
      localAddress: source,
      helo: 'client.sender.test',
      from: 'alice@sender.test',
      to: ['bob@example.test'],
      message: Buffer.from(`From: alice@sender.test\r\nTo: bob@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@sender.test>\r\n\r\n${text}\r\n`),
    });

  test('listed client: 554 5.7.1 with the text; GTUBE: 550 5.7.1; ham: delivered with X-Spam-Status: No', async () => {
    assert.equal(await send('127.0.0.2', 'listed', 'hello'), '554 5.7.1 Client host [127.0.0.2] blocked using bl.test; Listed by the test list');
    assert.equal(await send('127.0.0.10', 'gtube', gtube.reject), '550 5.7.1 Message rejected as spam');
    assert.match(await send('127.0.0.10', 'ham', 'Lunch on Friday?'), /^250 /);
    const [ham] = await waitFor('the ham in bob@', () => (m.mailbox('bob@example.test').length > 0 ? m.mailbox('bob@example.test') : undefined), {
      timeoutMs: 30_000,
    });
    assert.match(ham!.toString(), /\nX-Spam-Status: No, score=0\.00 required=6\.00\r?\nX-Spamd-Result: default: False \[0\.00 \/ 6\.00\]\r?\nFrom: /);
    const metrics = await (await fetch(`http://127.0.0.1:${m.opsPort}/metrics`)).text();
    assert.match(metrics, /stafette_dnsbl_lookups_total\{zone="bl\.test",result="listed"\} 1\n/);
    assert.match(metrics, /stafette_dnsbl_lookups_total\{zone="bl\.test",result="clean"\} 2\n/);
    assert.match(metrics, /stafette_spam_verdicts_total\{action="reject"\} 1\n/);
    assert.match(metrics, /stafette_spam_verdicts_total\{action="accept"\} 1\n/);
    assert.match(metrics, /stafette_smtp_rejections_total\{listener="mx",reason="dnsbl_listed"\} 1\n/);
  });
});
