import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInboundCheck } from './inbound-check.ts';

const message = Buffer.from('From: a@sender.test\r\nTo: b@example.com\r\nSubject: s\r\n\r\n' + 'x'.repeat(1000) + '\r\n');
const session = { ip: '127.0.0.10', helo: 'client.sender.test', mailFrom: 'a@sender.test', authservId: 'mx.example.com' };
const zone: Record<string, string[][]> = {
  'TXT sender.test': [['v=spf1 ip4:127.0.0.10 -all']],
  'TXT _dmarc.sender.test': [['v=DMARC1; p=quarantine']],
};
const cache = {
  resolve(name: string, type: string) {
    const v = zone[`${type} ${name}`];
    return v ? Promise.resolve(v) : Promise.reject(Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' }));
  },
};
const ctx = { modes: ['enforce' as const], isOurDomain: (d: string) => d === 'example.com', mailFromDomain: 'sender.test' };

test('fed in chunks with backpressure, the check ends with one Authentication-Results field', async () => {
  const check = startInboundCheck(session, { cache, highWaterMark: 16 });
  for (let i = 0; i < message.length; i += 64) {
    if (!check.write(message.subarray(i, i + 64))) await check.drained();
  }
  check.end();
  const outcome = await check.outcome(ctx);
  assert.equal(outcome.action.kind, 'accept');
  assert.match(outcome.headerFields, /^Authentication-Results: mx\.example\.com;\r\n dkim=none.*;\r\n spf=pass .*;\r\n arc=none.*;\r\n dmarc=pass .*\r\n$/s);
  assert.equal(outcome.verdicts?.dmarc?.result, 'pass');
  assert.equal(outcome.dnsBudgetExhausted, false);
});

test('SPF fail under p=quarantine at an enforcing domain: accepted, marked with the quarantine field', async () => {
  const check = startInboundCheck({ ...session, ip: '127.0.0.66' }, { cache });
  check.write(message);
  check.end();
  const outcome = await check.outcome(ctx);
  assert.deepEqual(outcome.action, { kind: 'accept', quarantine: true, note: 'dmarc fail, p=quarantine for sender.test' });
  assert.match(outcome.headerFields, /\r\nX-Stafette-Quarantine: dmarc \(p=quarantine; header\.from=sender\.test\)\r\n$/);
});

test('DNS that never answers costs the message its budget, no more: temperror recorded', async () => {
  const silent = { resolve: () => new Promise<never>(() => {}) };
  const check = startInboundCheck(session, { cache: silent, budgetMs: 100 });
  check.write(message);
  check.end();
  const started = Date.now();
  const outcome = await check.outcome({ ...ctx, modes: ['report'] });
  assert.ok(Date.now() - started < 2_000, 'bounded by the budget');
  assert.equal(outcome.verdicts?.spf.result, 'temperror');
  assert.equal(outcome.dnsBudgetExhausted, true);
  assert.equal(outcome.action.kind, 'accept');
});

test('a client that leaves mid-DATA: abort() settles the check without an unhandled rejection', async () => {
  const check = startInboundCheck(session, { cache });
  check.write(message.subarray(0, 30));
  check.abort();
  const outcome = await check.outcome(ctx);
  assert.equal(outcome.action.kind, 'refuse');
});
