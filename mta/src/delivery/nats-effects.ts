// The engine's effects (engine.ts JobEffects) on NATS JetStream: bodies from the Object
// Store, the delivered-recipient ledger in MAILQ_DONE, DSNs enqueued like any accepted
// message, retries as scheduled messages in MAILQ_DEFER (delivery-streams.ts says why).
// Every write waits for its PubAck; an error propagates, so the worker does not ack.
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadBody, storeBody } from '../queue/body-store.ts';
import { directChunkGetter, openStoredBody } from '../queue/body-reader.ts';
import type { QueuePublisher } from '../queue/publisher.ts';
import { sha256Hex, type QueueRecord } from '../queue/record.ts';
import { bodyStreamName, type QueueSettings } from '../queue/settings.ts';
import { encodeDeferredJob } from './deferred-job.ts';
import { dueSubject, ledgerSubject, waitSubject, type DeliveryStreams } from './delivery-streams.ts';
import { pairKey, type JobEffects } from './engine.ts';

export interface NatsEffectsOptions {
  readonly nc: NatsConnection;
  readonly settings: QueueSettings;
  readonly streams: DeliveryStreams;
  readonly bodyStore: ObjectStore;
  /** The queue's publisher, for DSNs. */
  readonly publisher: QueuePublisher;
  readonly hostname: string;
  readonly now: () => number;
  readonly publishTimeoutMs?: number;
}

// Room for headers and the state line within max_payload.
const headroom = 16 * 1024;

export async function natsEffects(opts: NatsEffectsOptions): Promise<JobEffects> {
  const js: JetStreamClient = jetstream(opts.nc);
  const jsm: JetStreamManager = await jetstreamManager(opts.nc);
  const timeout = opts.publishTimeoutMs ?? 5_000;
  const { streams } = opts;
  const chunks = directChunkGetter(jsm, bodyStreamName(opts.settings));

  return {
    async loadBody(decoded) {
      return await loadBody(opts.bodyStore, decoded);
    },

    async openBody(decoded) {
      return await openStoredBody(opts.bodyStore, opts.settings.bodyBucket, chunks, decoded);
    },

    async delivered(queueId, pairs) {
      const found = new Set<string>();
      await Promise.all(
        pairs.map(async (p) => {
          const key = pairKey(p);
          const msg = await jsm.streams.getMessage(streams.doneStream, { last_by_subj: ledgerSubject(streams, queueId, key) });
          if (msg !== null) found.add(key);
        }),
      );
      return found;
    },

    async recordDelivered(queueId, pairs) {
      const at = new Date(opts.now()).toISOString();
      await Promise.all(
        pairs.map((p) =>
          js.publish(ledgerSubject(streams, queueId, pairKey(p)), JSON.stringify({ envelopeRecipient: p.envelopeRecipient, address: p.address, at }), {
            expect: { streamName: streams.doneStream },
            timeout,
          }),
        ),
      );
    },

    async queueDsn(dsn) {
      await opts.publisher.enqueue(
        {
          queueId: dsn.queueId,
          receivedAt: new Date(opts.now()).toISOString(),
          listener: 'dsn',
          client: { ip: '127.0.0.1', helo: dsn.reportingMta, tls: null, authUser: null },
          envelope: { mailFrom: { address: '', params: [] }, rcptTo: [{ address: dsn.sender.address, params: [] }] },
        },
        dsn.body,
      );
    },

    async deferJob(state, record, inlineBody) {
      let rec: QueueRecord = record;
      let inline = inlineBody;
      const maxPayload = opts.nc.info?.max_payload ?? 1024 * 1024;
      let payload = encodeDeferredJob(state, rec, inline);
      if (payload.length > maxPayload - headroom && inline !== null) {
        // The state line pushed an inline body over the limit: move the body to the Object
        // Store under the queue id, as the publisher does for large bodies.
        const sha256 = sha256Hex(inline);
        await storeBody(opts.bodyStore, rec.queueId, inline, sha256, timeout);
        rec = { ...rec, body: { kind: 'object', bucket: opts.settings.bodyBucket, name: rec.queueId, size: inline.length, sha256 } };
        inline = null;
        payload = encodeDeferredJob(state, rec, inline);
      }
      // No Nats-Msg-Id: the server copies headers onto the generated message, which would
      // then be dropped as a duplicate of its own schedule. The schedule subject is the
      // de-duplication: one schedule per queue id, a re-publish replaces it.
      await js.publish(waitSubject(streams, rec.queueId), payload, {
        schedule: { specification: new Date(Date.parse(state.notBefore)), target: dueSubject(streams, rec.queueId) },
        expect: { streamName: streams.deferStream },
        timeout,
      });
    },
  };
}
