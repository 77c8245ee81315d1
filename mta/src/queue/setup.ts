// Creates or updates, at start, the job stream, the body bucket's stream and the delivery
// consumer. Safe to run from every pod at once and on every start: what exists is compared
// with settings.ts and only updated in place. Setup never deletes, recreates or purges a
// stream; when an existing stream could lose mail, it refuses and the MTA must not start.
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeError } from '../errors.ts';
import { planConsumerUpdate, planStreamUpdate } from './config-plan.ts';
import { queueSetupRefused } from './errors.ts';
import { bodyStreamConfig, deliveryConsumerConfig, jobStreamConfig, type QueueConsumerConfig, type QueueSettings, type QueueStreamConfig } from './settings.ts';

/**
 * `outdated`: the object differs from settings.ts but this connection's NATS user may not
 * update it (the MTA roles never may: docs/trust-model.md "NATS roles and TLS"); it is used
 * as it is, and `stafette queue setup` with the admin user applies the change.
 */
export type SetupOutcome = 'created' | 'updated' | 'unchanged' | 'outdated' | 'skipped';

export interface QueueSetupResult {
  readonly jobStream: SetupOutcome;
  readonly bodyStream: SetupOutcome;
  readonly consumer: SetupOutcome;
}

/**
 * Makes the queue's streams and consumer match `settings`. Throws a QueueError of kind
 * "setup" when an existing object is unsafe or the server rejects the change.
 */
export async function ensureQueue(
  nc: NatsConnection,
  settings: QueueSettings,
  parts: { streams?: boolean; consumer?: boolean } = {},
): Promise<QueueSetupResult> {
  const maxPayload = nc.info?.max_payload;
  if (!maxPayload) throw queueSetupRefused('the NATS server did not report max_payload; is the connection up?');
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    throw queueSetupRefused(`JetStream is not available on this NATS account: ${describeError(err)}`, err);
  }
  // With role users, intake sets up the streams and delivery the consumer (queue/nats-roles.ts).
  const streams = parts.streams ?? true;
  const jobStream = streams ? await ensureStream(jsm, jobStreamConfig(settings, maxPayload)) : 'skipped';
  const bodyStream = streams ? await ensureStream(jsm, bodyStreamConfig(settings)) : 'skipped';
  const consumer = (parts.consumer ?? true) ? await ensureConsumer(jsm, settings.streamName, deliveryConsumerConfig(settings)) : 'skipped';
  return { jobStream, bodyStream, consumer };
}

async function ensureStream(jsm: JetStreamManager, desired: QueueStreamConfig): Promise<SetupOutcome> {
  const existing = await streamConfig(jsm, desired.name);
  if (existing === null) {
    try {
      await jsm.streams.add(desired);
      return 'created';
    } catch (err) {
      // Another pod created it between our lookup and add: fall through to the update path.
      if ((await streamConfig(jsm, desired.name)) === null) {
        throw queueSetupRefused(`could not create stream ${desired.name}: ${describeError(err)}`, err);
      }
      return ensureStream(jsm, desired);
    }
  }
  const plan = planStreamUpdate(existing, desired);
  if (plan.refuse.length > 0) {
    throw queueSetupRefused(
      `refusing to use stream ${desired.name}: ${plan.refuse.join('; ')}. Fix or migrate it by hand; the MTA never deletes or recreates the queue.`,
    );
  }
  if (Object.keys(plan.update).length === 0) return 'unchanged';
  try {
    await jsm.streams.update(desired.name, plan.update);
  } catch (err) {
    if (isPermissionDenied(err)) return 'outdated';
    throw queueSetupRefused(`could not update stream ${desired.name} (${Object.keys(plan.update).join(', ')}): ${describeError(err)}`, err);
  }
  return 'updated';
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, desired: QueueConsumerConfig): Promise<SetupOutcome> {
  const existing = await consumerConfig(jsm, stream, desired.durable_name);
  if (existing === null) {
    try {
      await jsm.consumers.add(stream, desired);
      return 'created';
    } catch (err) {
      if ((await consumerConfig(jsm, stream, desired.durable_name)) === null) {
        throw queueSetupRefused(`could not create consumer ${desired.durable_name} on ${stream}: ${describeError(err)}`, err);
      }
      return ensureConsumer(jsm, stream, desired);
    }
  }
  const plan = planConsumerUpdate(existing, desired);
  if (plan.refuse.length > 0) {
    throw queueSetupRefused(`refusing to use consumer ${desired.durable_name} on ${stream}: ${plan.refuse.join('; ')}`);
  }
  if (Object.keys(plan.update).length === 0) return 'unchanged';
  try {
    await jsm.consumers.update(stream, desired.durable_name, plan.update);
  } catch (err) {
    if (isPermissionDenied(err)) return 'outdated';
    throw queueSetupRefused(`could not update consumer ${desired.durable_name} (${Object.keys(plan.update).join(', ')}): ${describeError(err)}`, err);
  }
  return 'updated';
}

/** A request the server refused for this user's permissions (nats.js PermissionViolationError). */
export function isPermissionDenied(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.name === 'PermissionViolationError' || /permissions violation/i.test(e.message)) return true;
  }
  return false;
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
    throw queueSetupRefused(`could not read stream ${name}: ${describeError(err)}`, err);
  }
}

async function consumerConfig(jsm: JetStreamManager, stream: string, name: string): Promise<ConsumerConfig | null> {
  try {
    return (await jsm.consumers.info(stream, name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return null;
    throw queueSetupRefused(`could not read consumer ${name} on ${stream}: ${describeError(err)}`, err);
  }
}
