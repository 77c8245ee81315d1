// The queue's public surface: what the SMTP intake, delivery, main wiring and the CLI use.
//
// Start-up (main):
//   const nc = await connect(queueConnectOptions({ servers, name }));
//   const settings = queueSettings({ replicas: 3, maxBytes });
//   await ensureQueue(nc, settings);                  // refuses to start on an unsafe stream
//   const watch = watchConnection(nc);
//   const readiness = createQueueReadiness({ nc, settings, watch });   // readiness probe
//   const publisher = createPublisher({ nc, settings, bodyStore: await openBodyStore(nc, settings),
//                                       isConnected: () => watch.connected });
// Intake, after DATA:
//   const queueId = newQueueId(clock.now());
//   try { await publisher.enqueue({ queueId, receivedAt, listener, client, envelope }, body); reply 250 }
//   catch (err) { if (isQueueError(err)) reply err.reply, log err.message; else 451 4.3.0 }
export { queueConnectOptions, watchConnection } from './connection.ts';
export type { ConnectionWatch, NatsCredentials, NatsTls, QueueConnectionOptions } from './connection.ts';
export { isQueueError, QueueError } from './errors.ts';
export type { QueueErrorKind } from './errors.ts';
export { describeBodyLocation, loadBody, openBodyStore } from './body-store.ts';
export { listQueue, queueStats, showQueued } from './inspect.ts';
export type { InspectOptions, QueueListEntry, QueueListProblem, QueueShowResult, QueueStats } from './inspect.ts';
export { deleteBody, findOrphanBodies } from './orphan-bodies.ts';
export type { OrphanBody, OrphanSearch } from './orphan-bodies.ts';
export { createPublisher } from './publisher.ts';
export type { AcceptedMessage, EnqueueResult, PublisherOptions, QueuePublisher, StoredBody } from './publisher.ts';
export { BodyStream } from './body-stream.ts';
export type { BodyStreamOptions, StoredBodyObject } from './body-stream.ts';
export { isQueueId, newQueueId, queueIdTime } from './queue-id.ts';
export { createQueueReadiness } from './readiness.ts';
export type { QueueReadiness, QueueReadinessState } from './readiness.ts';
export { decodeRecord, encodeRecord, recordVersion } from './record.ts';
export type { BodyRef, ClientInfo, DecodedRecord, EnvelopeAddress, EsmtpParam, QueueEnvelope, QueueRecord, SenderAuthResults } from './record.ts';
export { createRecordSeal, distrust, parseSealKeys } from './record-seal.ts';
export type { RecordSeal, SealVerdict } from './record-seal.ts';
export { ensureQueue } from './setup.ts';
export type { QueueSetupResult, SetupOutcome } from './setup.ts';
export { defaultQueueSettings, jobSubject, queueSettings } from './settings.ts';
export type { QueueSettings } from './settings.ts';
