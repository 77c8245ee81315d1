// Our MTA-STS policy over HTTPS, fetched by a real client (curl) that verifies the certificate
// against the test CA and sends the SNI and Host a sending MTA would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { silentLogger } from '../../observability/logger.ts';
import { startPolicyServer, type PolicyServer, type ServedPolicy } from '../../mta/src/mta-sts/policy-server.ts';
import { createTestCa, type TestCa } from '../harness/test-ca.ts';

const run = promisify(execFile);
const policy = 'version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 604800\n';

describe('MTA-STS policy server', () => {
  let ca: TestCa;
  let server: PolicyServer;
  const policies = new Map<string, ServedPolicy>();

  before(async () => {
    ca = await createTestCa();
    policies.set('mta-sts.example.com', { text: policy, tls: await ca.issue(['mta-sts.example.com']) });
    policies.set('mta-sts.other.test', {
      text: 'version: STSv1\nmode: testing\nmx: mx.other.test\nmax_age: 86400\n',
      tls: await ca.issue(['mta-sts.other.test']),
    });
    const fallback = await (await createTestCa('unrelated')).issue(['fallback.invalid']);
    server = await startPolicyServer({ host: '127.0.0.1', port: 0, policies: () => policies, fallbackTls: fallback, logger: silentLogger });
  });
  after(() => server.close());

  async function curl(host: string, path = '/.well-known/mta-sts.txt', extra: string[] = []) {
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--cacert',
      ca.caFile,
      '--resolve',
      `${host}:${server.port}:127.0.0.1`,
      '--write-out',
      '\n%{http_code} %{content_type}',
      ...extra,
      `https://${host}:${server.port}${path}`,
    ]).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}\nERROR ${err.stderr ?? ''}` }));
    return stdout;
  }

  test('each domain gets its own policy, over a certificate curl verifies for mta-sts.<domain>', async () => {
    assert.equal(await curl('mta-sts.example.com'), `${policy}\n200 text/plain; charset=utf-8`);
    assert.match(await curl('mta-sts.other.test'), /^version: STSv1\nmode: testing\n.*\n200 text\/plain/s);
  });

  test('a name we do not serve gets the fallback certificate, which the client refuses', async () => {
    assert.match(await curl('mta-sts.unknown.test'), /ERROR .*(certificate|SSL)/i);
  });

  test('other paths are 404, other methods 405; a policy change applies at once', async () => {
    assert.match(await curl('mta-sts.example.com', '/'), /\n404 /);
    assert.match(await curl('mta-sts.example.com', '/.well-known/mta-sts.txt', ['-X', 'POST']), /\n405 /);
    policies.set('mta-sts.example.com', { ...policies.get('mta-sts.example.com')!, text: policy.replace('enforce', 'testing') });
    assert.match(await curl('mta-sts.example.com'), /^version: STSv1\nmode: testing\n/);
  });
});
