// Our MTA-STS policy as a sending MTA fetches it: from the running MTA's policy listener, by a
// real client (curl) that sends the SNI and Host of mta-sts.<domain> and verifies the domain's
// certificate (the bundle's, issued by the test CA for mx.example.test and mta-sts.example.test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { stopAll } from '../harness/process.ts';
import { mtaStsPolicyText, startStandardsMta, type StandardsMta } from '../harness/standards-mta.ts';

let m: StandardsMta;
before(async () => {
  m = await startStandardsMta('policy-served');
});
after(async () => {
  await m.close();
  await stopAll();
});

test("https://mta-sts.example.test/.well-known/mta-sts.txt serves the bundle's policy over a certificate that verifies, and counts it", async () => {
  const out = execFileSync(
    'curl',
    [
      '--silent',
      '--show-error',
      '--fail',
      '--cacert',
      m.ca.caFile,
      '--resolve',
      `mta-sts.example.test:${m.policyPort}:127.0.0.1`,
      '--write-out',
      '\n%{http_code} %{content_type} %{ssl_verify_result}',
      `https://mta-sts.example.test:${m.policyPort}/.well-known/mta-sts.txt`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(out, `${mtaStsPolicyText}\n200 text/plain; charset=utf-8 0`);
  const metrics = await (await fetch(`http://127.0.0.1:${m.opsPort}/metrics`)).text();
  assert.match(metrics, /\nstafette_mta_sts_policy_requests_total\{outcome="served"\} 1\n/);
});
