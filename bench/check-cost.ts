// The CPU cost of the inbound checks per message, in-process and apart from SMTP and the
// queue: `count` messages through the MTA's own check path (sender-auth/inbound-check.ts,
// mailauth's authenticate() behind the DNS cache), warm cache, one at a time. Reported as
// CPU microseconds per message (user + system of this process) and wall time per message,
// for an unsigned message and for one DKIM-signed by the sender domain. Used by bench:intake.
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { createCachingResolver } from '../mta/src/dns/dns-cache.ts';
import { createDnsClient } from '../mta/src/dns/dns-client.ts';
import { startInboundCheck } from '../mta/src/sender-auth/inbound-check.ts';
import { benchMessage } from './smtp-load.ts';

export interface CheckCost {
  readonly label: string;
  readonly cpuMicrosPerMessage: number;
  readonly wallMicrosPerMessage: number;
  readonly result: string;
}

export async function measureCheckCost(o: {
  dns: string;
  from: string;
  to: string;
  size: number;
  count: number;
  dkim: { selector: string; privateKeyPem: string };
}): Promise<CheckCost[]> {
  const cache = createCachingResolver({ query: createDnsClient({ servers: [o.dns] }) });
  const plain = benchMessage(o.size, o.from, o.to);
  const domain = o.from.slice(o.from.lastIndexOf('@') + 1);
  const signature = await dkimSign(plain, { signatureData: [{ signingDomain: domain, selector: o.dkim.selector, privateKey: o.dkim.privateKeyPem }] } as never);
  const signed = Buffer.concat([Buffer.from(signature.signatures), plain]);
  const ctx = { modes: ['enforce' as const], isOurDomain: () => false, mailFromDomain: domain };
  const out: CheckCost[] = [];
  for (const [label, message] of [
    ['unsigned', plain],
    ['DKIM-signed', signed],
  ] as const) {
    const one = async () => {
      const check = startInboundCheck({ ip: '127.0.0.1', helo: 'bench.client', mailFrom: o.from, authservId: 'mx.example.test' }, { cache });
      check.write(message);
      check.end();
      return await check.outcome(ctx);
    };
    const warm = await one(); // fills the cache
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < o.count; i++) await one();
    const used = process.cpuUsage(cpu);
    const wall = performance.now() - started;
    const v = warm.verdicts;
    out.push({
      label,
      cpuMicrosPerMessage: (used.user + used.system) / o.count,
      wallMicrosPerMessage: (wall * 1000) / o.count,
      result: v ? `spf=${v.spf.result} dkim=${v.dkim.result} dmarc=${v.dmarc?.result ?? 'none'}, ${warm.action.kind}` : 'checks failed',
    });
  }
  return out;
}
