// DNS blocklists as a listed sender meets them: the real intake (nats-server, the example
// bundle) asks a real DNS server (dnsmasq) serving two lists, and a real SMTP client connects
// from chosen 127.0.0.x addresses. A listed address gets 554 5.7.1 with the list's text at
// MAIL; a clean one is accepted; a list's "you may not query" answer (127.255.255.254) is no
// listing; a list that does not answer does not stop mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCachingResolver } from '../../mta/src/dns/dns-cache.ts';
import { createDnsClient } from '../../mta/src/dns/dns-client.ts';
import { createDnsblChecker } from '../../mta/src/spam/dnsbl.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { stopAll } from '../harness/process.ts';
import { startIntakeFixture, type IntakeFixture } from '../harness/smtp-intake.ts';
import { sendMessage } from '../harness/smtp-send.ts';

const listedIp = '127.0.0.2';
const refusedQueryIp = '127.0.0.3';
const cleanIp = '127.0.0.10';

const message = Buffer.from('From: a@sender.test\r\nTo: bob@example.com\r\nSubject: hello\r\n\r\nHello.\r\n');

describe('DNSBL on the MX listener, against a real DNS server', () => {
  let dns: DnsServer;
  let f: IntakeFixture;
  const counted: string[] = [];

  before(async () => {
    dns = await startDnsServer({
      local: ['bl.test', 'open.test'],
      hosts: { '2.0.0.127.bl.test': ['127.0.0.2'], '3.0.0.127.open.test': ['127.255.255.254'] },
      txt: { '2.0.0.127.bl.test': 'Listed for spam; see https://bl.test/lookup?ip=127.0.0.2' },
    });
    const cache = createCachingResolver({ query: createDnsClient({ servers: [dns.address], timeoutMs: 500, tries: 1 }) });
    const dnsbl = createDnsblChecker({
      zones: ['open.test', 'bl.test', 'unanswered.test'],
      cache,
      timeoutMs: 2_000,
      observer: { lookup: (zone, result) => counted.push(`${zone}=${result}`) },
    });
    f = await startIntakeFixture({ name: 'dnsbl', listeners: { mx: { greetingDelayMs: 0 } }, intake: { dnsbl } });
  });
  after(async () => {
    await f.close();
    await dns.stop();
    await stopAll();
  });

  const send = (ip: string) => sendMessage({ host: f.mx.host, port: f.mx.port, localAddress: ip, from: 'a@sender.test', to: ['bob@example.com'], message });

  test("a listed client is refused with 554 5.7.1 and the list's text", async () => {
    counted.length = 0;
    assert.equal(await send(listedIp), '554 5.7.1 Client host [127.0.0.2] blocked using bl.test; Listed for spam; see https://bl.test/lookup?ip=127.0.0.2');
    assert.deepEqual(counted.sort(), ['bl.test=listed', 'open.test=clean', 'unanswered.test=error']);
  });

  test('a clean client, and one the list refuses to answer for (127.255.255.254), are accepted', async () => {
    assert.match(await send(cleanIp), /^250 /);
    assert.match(await send(refusedQueryIp), /^250 /);
  });

  test('submission is not checked', async () => {
    counted.length = 0;
    const reply = await sendMessage({
      host: f.submission.host,
      port: f.submission.port,
      localAddress: listedIp,
      from: 'a@sender.test',
      to: ['bob@example.com'],
      message,
    });
    // Refused for want of AUTH, not by the blocklist.
    assert.doesNotMatch(reply, /blocked/);
    assert.deepEqual(counted, []);
  });
});
