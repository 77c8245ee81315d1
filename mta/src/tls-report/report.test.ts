import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { countSession, mergeCounters, renderReport, type DomainCounters, type SessionResult } from './report.ts';
import { buildReportMail } from './report-mail.ts';
import { parseTlsRptRecords } from './report-policy.ts';
import { createTlsReportRecorder, readDay } from './report-store.ts';

const sts = {
  policyDomain: 'example.net',
  policyType: 'sts' as const,
  policyLines: ['version: STSv1', 'mode: enforce', 'mx: mx1.example.net', 'max_age: 86400'],
  mxPatterns: ['mx1.example.net'],
};
const ok: SessionResult = { ...sts, failure: null };
const expired: SessionResult = {
  ...sts,
  failure: { resultType: 'certificate-expired', receivingMx: 'mx1.example.net', receivingIp: '192.0.2.1', sendingIp: '198.51.100.7' },
};
const who = { organization: 'Stafette at mx.example.com', submitter: 'mx.example.com', contact: 'postmaster@example.com' };

function counts(...sessions: SessionResult[]): DomainCounters {
  return sessions.reduce<DomainCounters | undefined>((c, s) => countSession(c, s), undefined)!;
}

describe('TLS-RPT report (RFC 8460 §4.4)', () => {
  test('sessions are summed per policy domain, failures per result type and hosts', () => {
    const c = counts(ok, ok, expired, expired, ok);
    assert.equal(c.success, 3);
    assert.deepEqual(c.failures, { 'certificate-expired|mx1.example.net|192.0.2.1|198.51.100.7': 2 });
    const merged = mergeCounters(c, counts(expired));
    assert.equal(merged.success, 3);
    assert.equal(Object.values(merged.failures)[0], 3);
  });

  test('the report has the RFC 8460 fields and no others', () => {
    const report = renderReport('2026-11-18', 'example.net', counts(ok, expired), who);
    assert.deepEqual(report, {
      'organization-name': 'Stafette at mx.example.com',
      'date-range': { 'start-datetime': '2026-11-18T00:00:00Z', 'end-datetime': '2026-11-18T23:59:59Z' },
      'contact-info': 'postmaster@example.com',
      'report-id': '2026-11-18T00:00:00Z_example.net@mx.example.com',
      policies: [
        {
          policy: { 'policy-type': 'sts', 'policy-string': sts.policyLines, 'policy-domain': 'example.net', 'mx-host': ['mx1.example.net'] },
          summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 1 },
          'failure-details': [
            {
              'result-type': 'certificate-expired',
              'sending-mta-ip': '198.51.100.7',
              'receiving-mx-hostname': 'mx1.example.net',
              'receiving-ip': '192.0.2.1',
              'failed-session-count': 1,
            },
          ],
        },
      ],
    });
  });

  test('the mail: multipart/report tlsrpt, the subject and fields of §5.3, the JSON gzipped', () => {
    const report = renderReport('2026-11-18', 'example.net', counts(ok), who);
    const mail = buildReportMail({
      day: '2026-11-18',
      policyDomain: 'example.net',
      submitter: 'mx.example.com',
      from: 'postmaster@example.com',
      to: ['tlsrpt@example.net'],
      report,
      now: new Date(Date.UTC(2026, 10, 19, 1)),
    }).toString();
    assert.match(mail, /^Subject: Report Domain: example\.net Submitter: mx\.example\.com Report-ID: <2026-11-18T00:00:00Z_example\.net@mx\.example\.com>\r$/m);
    assert.match(mail, /^TLS-Report-Domain: example\.net\r$/m);
    assert.match(mail, /^Content-Type: multipart\/report; report-type="tlsrpt"; boundary=/m);
    assert.match(mail, /filename="mx\.example\.com!example\.net!1794960000!1795046399!/);
    const b64 = /Content-Transfer-Encoding: base64\r\nContent-Disposition: [^\r]+\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(mail)![1]!;
    assert.deepEqual(JSON.parse(gunzipSync(Buffer.from(b64.replace(/\r\n/g, ''), 'base64')).toString()), report);
    assert.doesNotMatch(mail, /[^\r]\n|\r[^\n]/);
  });
});

describe('TLS-RPT record (RFC 8460 §3)', () => {
  test('mailto and https destinations; several records or none: no reports', () => {
    assert.deepEqual(parseTlsRptRecords([['v=TLSRPTv1; rua=mailto:tls@example.net,https://r.example.net/x']]), {
      mailto: ['tls@example.net'],
      https: ['https://r.example.net/x'],
    });
    assert.equal(parseTlsRptRecords([['v=TLSRPTv1; rua=mailto:a@b.test'], ['v=TLSRPTv1; rua=mailto:c@d.test']]), null);
    assert.equal(parseTlsRptRecords([['v=spf1 -all']]), null);
    assert.equal(parseTlsRptRecords([['v=TLSRPTv1;']]), null);
  });
});

test('pods flush their counts into the shared ones with compare-and-set; none are lost', async () => {
  // A minimal in-memory bucket with revisions (test/mta-sts/ uses a real nats-server); every call
  // yields a turn first, as a request to the server would, so the two pods' updates interleave.
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const data = new Map<string, { value: string; revision: number }>();
  let rev = 0;
  const kv = {
    async get(k: string) {
      await turn();
      const e = data.get(k);
      return e ? ({ operation: 'PUT', revision: e.revision, string: () => e.value } as never) : null;
    },
    async create(k: string, v: unknown) {
      await turn();
      if (data.has(k)) throw new Error('exists');
      data.set(k, { value: String(v), revision: ++rev });
      return rev;
    },
    async update(k: string, v: unknown, revision: number) {
      await turn();
      if (data.get(k)?.revision !== revision) throw new Error('wrong last sequence');
      data.set(k, { value: String(v), revision: ++rev });
      return rev;
    },
    keys(filter: string) {
      const prefix = filter.replace(/>$/, '');
      return Promise.resolve([...data.keys()].filter((k) => k.startsWith(prefix)) as never);
    },
  };
  const now = () => Date.UTC(2026, 10, 18, 12);
  const pods = [createTlsReportRecorder({ kv, now, flushEveryMs: 0 }), createTlsReportRecorder({ kv, now, flushEveryMs: 0 })];
  for (let i = 0; i < 20; i++) pods[i % 2]!.record(i % 5 === 0 ? expired : ok);
  await Promise.all(pods.map((p) => p.stop()));
  const day = await readDay(kv, '2026-11-18');
  assert.equal(day.get('example.net')?.success, 16);
  assert.equal(Object.values(day.get('example.net')!.failures)[0], 4);
});
