// The MTA-STS policy cache against the real thing: mailauth fetching from a loopback HTTPS
// policy host (test CA trusted through our trust store), the `_mta-sts` id served by dnsmasq
// through our DNS cache, and the policies shared through a JetStream key-value bucket of a real
// nats-server by two independent connections (two pods).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDnsClient } from '../../mta/src/dns/dns-client.ts';
import { createCachingResolver } from '../../mta/src/dns/dns-cache.ts';
import { createPolicyStore, mailauthFetch, openPolicyBucket, type PolicyStore } from '../../mta/src/mta-sts/policy-store.ts';
import { buildTrustStore, installTrustStore } from '../../mta/src/outbound-tls/trust-store.ts';
import { startDnsServer, type DnsServer } from '../harness/dns-server.ts';
import { startPolicyHost, type PolicyHost } from '../harness/https-policy-host.ts';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { createTestCa } from '../harness/test-ca.ts';

const policyV1 = 'version: STSv1\nmode: enforce\nmx: mx1.remote.test\nmax_age: 86400\n';
const policyV2 = 'version: STSv1\nmode: testing\nmx: mx1.remote.test\nmx: mx2.remote.test\nmax_age: 86400\n';

describe('MTA-STS policies fetched once and shared by every pod', () => {
  let nats: NatsServer;
  let host: PolicyHost;
  let dns: DnsServer;
  const connections: NatsConnection[] = [];

  async function zone(id: string) {
    await dns?.stop();
    dns = await startDnsServer({ local: ['test'], hosts: { 'mta-sts.remote.test': [host.address] }, txt: { '_mta-sts.remote.test': `v=STSv1; id=${id}` } });
  }

  async function pod(): Promise<PolicyStore> {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    const kv = await openPolicyBucket(new Kvm(nc), 1);
    // Each pod has its own DNS cache; TTL 0 answers from dnsmasq are not cached, so an id change is seen at once.
    const cache = createCachingResolver({ query: createDnsClient({ servers: [dns.address] }) });
    return createPolicyStore({ kv, fetch: mailauthFetch((name, type) => cache.resolve(name, type as never)) });
  }

  before(async () => {
    const ca = await createTestCa();
    installTrustStore(buildTrustStore(ca.caPem));
    nats = await startNatsServer({ name: 'mta-sts-store' });
    host = await startPolicyHost('remote.test', policyV1, ca);
    await zone('v1');
  });
  after(async () => {
    for (const nc of connections) await nc.close();
    await host.stop();
    await nats.destroy();
    await stopAll();
  });

  test('pod A fetches the policy; pod B uses the cached one without fetching', async () => {
    const a = await pod();
    const first = await a.policyFor('remote.test');
    assert.equal(first.outcome, 'found');
    assert.deepEqual(first.policy, { mode: 'enforce', mx: ['mx1.remote.test'] });
    const b = await pod();
    const second = await b.policyFor('remote.test');
    assert.equal(second.outcome, 'renewed');
    assert.deepEqual(second.policy, first.policy);
    assert.equal(host.fetches, 1);
  });

  test('a changed id in DNS makes the next lookup fetch the policy again', async () => {
    host.setPolicy(policyV2);
    await zone('v2');
    const c = await pod();
    const changed = await c.policyFor('remote.test');
    assert.equal(changed.outcome, 'found');
    assert.deepEqual(changed.policy, { mode: 'testing', mx: ['mx1.remote.test', 'mx2.remote.test'] });
    assert.equal(host.fetches, 2);
  });

  test('while the policy host is down, the cached policy stays in force (RFC 8461 §5.1)', async () => {
    await host.stop();
    await zone('v3');
    const d = await pod();
    const lookup = await d.policyFor('remote.test');
    assert.equal(lookup.outcome, 'errored');
    assert.deepEqual(lookup.policy, { mode: 'testing', mx: ['mx1.remote.test', 'mx2.remote.test'] });
  });
});
