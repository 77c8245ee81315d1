import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideVerdict, renderQuarantineField, type VerdictContext } from './verdict-policy.ts';
import type { AuthVerdicts, DmarcPolicy, MethodResult } from './verify-message.ts';

const ours = new Set(['example.com']);

function verdicts(o: {
  spf?: MethodResult;
  spfDomain?: string;
  dkim?: [MethodResult, string][];
  dmarc?: MethodResult | null;
  policy?: DmarcPolicy | null;
  from?: string;
}): AuthVerdicts {
  const signatures = (o.dkim ?? []).map(([result, domain]) => ({ result, domain, selector: 's' }));
  return {
    spf: { result: o.spf ?? 'none', domain: o.spfDomain ?? 'sender.test' },
    dkim: { result: signatures.find((s) => s.result === 'pass') ? 'pass' : (signatures[0]?.result ?? 'none'), signatures },
    arc: { result: 'none', instance: 0 },
    dmarc: o.dmarc === null ? null : { result: o.dmarc ?? 'none', fromDomain: o.from ?? 'sender.test', policy: o.policy ?? null },
    dmarcSkipped: null,
    resinfo: [],
  };
}

function ctx(modes: ('enforce' | 'report')[], mailFromDomain: string | null = 'sender.test'): VerdictContext {
  return { modes, isOurDomain: (d) => ours.has(d), mailFromDomain };
}

function outcome(v: AuthVerdicts, c: VerdictContext): string {
  const a = decideVerdict(v, c);
  return a.kind === 'accept' ? (a.quarantine ? 'accept quarantined' : 'accept') : `${a.error.code} ${a.error.enhanced} ${a.error.rule}`;
}

describe('verdict policy - DMARC per inbound.dmarc', () => {
  test('enforce: p=reject failure is 550 5.7.1, p=quarantine is accepted and marked, p=none accepted', () => {
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'fail', policy: 'reject' }), ctx(['enforce'])), '550 5.7.1 dmarc_reject');
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'fail', policy: 'quarantine' }), ctx(['enforce'])), 'accept quarantined');
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'fail', policy: 'none' }), ctx(['enforce'])), 'accept');
  });

  test('report: nothing is refused or marked', () => {
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'fail', policy: 'reject' }), ctx(['report'])), 'accept');
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'fail', policy: 'quarantine' }), ctx(['report'])), 'accept');
  });

  test('several recipient domains: one that enforces is enough', () => {
    assert.equal(outcome(verdicts({ dmarc: 'fail', policy: 'reject' }), ctx(['report', 'enforce'])), '550 5.7.1 dmarc_reject');
  });

  test('DMARC pass, and no DMARC record, are accepted', () => {
    assert.equal(outcome(verdicts({ spf: 'pass', dmarc: 'pass', policy: 'reject' }), ctx(['enforce'])), 'accept');
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'none' }), ctx(['enforce'])), 'accept');
    assert.equal(outcome(verdicts({ dmarc: null }), ctx(['enforce'])), 'accept');
  });
});

describe('verdict policy - DNS failures are never permanent', () => {
  test('a p=reject failure resting on an SPF or DKIM temperror is 451 4.7.0', () => {
    assert.equal(outcome(verdicts({ spf: 'temperror', dmarc: 'fail', policy: 'reject' }), ctx(['enforce'])), '451 4.7.0 auth_temperror');
    assert.equal(
      outcome(verdicts({ spf: 'fail', dkim: [['temperror', 'sender.test']], dmarc: 'fail', policy: 'reject' }), ctx(['enforce'])),
      '451 4.7.0 auth_temperror',
    );
  });

  test('a DMARC temperror defers only when the domain enforces and nothing passed', () => {
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'temperror' }), ctx(['enforce'])), '451 4.7.0 auth_temperror');
    assert.equal(outcome(verdicts({ spf: 'pass', dmarc: 'temperror' }), ctx(['enforce'])), 'accept');
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: 'temperror' }), ctx(['report'])), 'accept');
  });

  test('a temperror that decides nothing is only recorded', () => {
    assert.equal(outcome(verdicts({ spf: 'temperror', dmarc: 'fail', policy: 'none' }), ctx(['enforce'])), 'accept');
    assert.equal(outcome(verdicts({ spf: 'temperror', dmarc: 'none' }), ctx(['enforce'])), 'accept');
  });
});

describe('verdict policy - mail claiming our own domains', () => {
  test('MAIL FROM in our domain must pass SPF, DKIM for it, or DMARC; else 550 5.7.1 even in report mode', () => {
    assert.equal(
      outcome(verdicts({ spf: 'fail', spfDomain: 'example.com', dmarc: null }), ctx(['report'], 'example.com')),
      '550 5.7.1 own_domain_unauthenticated',
    );
    assert.equal(
      outcome(verdicts({ spf: 'softfail', spfDomain: 'example.com', dmarc: null }), ctx(['report'], 'example.com')),
      '550 5.7.1 own_domain_unauthenticated',
    );
    assert.equal(outcome(verdicts({ spf: 'pass', spfDomain: 'example.com', dmarc: null }), ctx(['report'], 'example.com')), 'accept');
    assert.equal(
      outcome(verdicts({ spf: 'none', spfDomain: 'example.com', dkim: [['pass', 'example.com']], dmarc: null }), ctx(['report'], 'example.com')),
      'accept',
    );
  });

  test('From in our domain must pass DMARC (or SPF/DKIM for that domain)', () => {
    const forged = verdicts({ spf: 'pass', spfDomain: 'sender.test', dmarc: 'fail', policy: 'none', from: 'example.com' });
    assert.equal(outcome(forged, ctx(['report'])), '550 5.7.1 own_domain_unauthenticated');
    const genuine = verdicts({ spf: 'fail', dkim: [['pass', 'example.com']], dmarc: 'pass', from: 'example.com' });
    assert.equal(outcome(genuine, ctx(['report'])), 'accept');
  });

  test('a DNS failure on the way is 451, not 550', () => {
    assert.equal(outcome(verdicts({ spf: 'temperror', spfDomain: 'example.com', dmarc: null }), ctx(['report'], 'example.com')), '451 4.7.0 auth_temperror');
  });

  test('mail from other domains and the null sender are not concerned', () => {
    assert.equal(outcome(verdicts({ spf: 'fail', dmarc: null }), ctx(['report'], null)), 'accept');
  });
});

test('the quarantine field names the From domain and nothing a client could inject', () => {
  assert.equal(renderQuarantineField('sender.test'), 'X-Stafette-Quarantine: dmarc (p=quarantine; header.from=sender.test)\r\n');
  assert.equal(renderQuarantineField('a\r\nBcc: x'), 'X-Stafette-Quarantine: dmarc (p=quarantine; header.from=a??Bcc??x)\r\n');
});
