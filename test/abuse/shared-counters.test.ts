// The shared counters (mta/src/queue/shared-counters.ts) against a real nats-server: two NATS
// connections (two pods) adding to one counter at once count every event exactly once (the
// compare-and-set retries on conflicts), windows are separate keys, and the bucket has the TTL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from '../harness/nats-server.ts';
import { stopAll } from '../harness/process.ts';
import { createKvCounters, openLimitsBucket } from '../../mta/src/queue/shared-counters.ts';

let nats: NatsServer;
let pods: NatsConnection[] = [];

before(async () => {
  nats = await startNatsServer({ name: 'nats-abuse-counters' });
  pods = [await connect({ servers: nats.url }), await connect({ servers: nats.url })];
});
after(async () => {
  for (const nc of pods) await nc.close();
  await nats?.destroy();
  await stopAll();
});

test('two pods adding 40 events at once to one counter count 40; another window starts from 0', async () => {
  let now = 1_000_000;
  const counters = await Promise.all(pods.map(async (nc) => createKvCounters(await openLimitsBucket(new Kvm(nc), 1, 3_660_000), () => now)));
  await Promise.all(Array.from({ length: 40 }, (_, i) => counters[i % 2]!.add('auth-ip', '2001:db8:1:2::/64', 60_000)));
  assert.equal(await counters[0]!.get('auth-ip', '2001:db8:1:2::/64', 60_000), 40);
  assert.equal(await counters[1]!.get('auth-ip', '2001:db8:1:2::/64', 60_000), 40);
  assert.equal(await counters[1]!.get('auth-user', '2001:db8:1:2::/64', 60_000), 0);
  now += 60_000;
  assert.equal(await counters[0]!.get('auth-ip', '2001:db8:1:2::/64', 60_000), 0);
  assert.equal(await counters[1]!.add('auth-ip', '2001:db8:1:2::/64', 60_000, 3), 3);
});
