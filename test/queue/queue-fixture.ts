// Shared set-up for the queue integration tests: a real nats-server, a client connected
// with the production options, the queue set up, and builders for accepted messages.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ObjectStore } from '@nats-io/obj';
import {
  createPublisher,
  ensureQueue,
  newQueueId,
  openBodyStore,
  queueConnectOptions,
  queueSettings,
  watchConnection,
  type AcceptedMessage,
  type ConnectionWatch,
  type PublisherOptions,
  type QueuePublisher,
  type QueueSettings,
} from '../../mta/src/queue/index.ts';

export interface QueueFixture {
  nc: NatsConnection;
  settings: QueueSettings;
  watch: ConnectionWatch;
  bodyStore: ObjectStore;
  publisher: QueuePublisher;
  close(): Promise<void>;
}

export async function openQueue(
  servers: string | string[],
  overrides: Partial<QueueSettings> = {},
  publisherOptions: Partial<PublisherOptions> = {},
): Promise<QueueFixture> {
  const nc = await connect(queueConnectOptions({ servers, name: 'stafette-queue-test' }));
  const settings = queueSettings(overrides);
  await ensureQueue(nc, settings);
  const watch = watchConnection(nc);
  const bodyStore = await openBodyStore(nc, settings);
  const publisher = createPublisher({ nc, settings, bodyStore, isConnected: () => watch.connected, ...publisherOptions });
  return {
    nc,
    settings,
    watch,
    bodyStore,
    publisher,
    async close() {
      watch.stop();
      await nc.close();
    },
  };
}

/** An accepted message with a fresh queue id; fields can be overridden. */
export function acceptedMessage(overrides: Partial<AcceptedMessage> = {}): AcceptedMessage {
  return {
    queueId: newQueueId(Date.now()),
    receivedAt: new Date().toISOString(),
    listener: 'mx',
    client: { ip: '192.0.2.10', helo: 'client.example', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }, authUser: null },
    envelope: {
      mailFrom: {
        address: 'sender@example.com',
        params: [
          { name: 'BODY', value: '8BITMIME' },
          { name: 'SIZE', value: '100' },
        ],
      },
      rcptTo: [{ address: 'rcpt@example.org', params: [{ name: 'NOTIFY', value: 'FAILURE' }] }],
    },
    ...overrides,
  };
}

/** A message body: RFC 5322 headers and `size` bytes in total (random printable tail). */
export function messageBody(size: number): Buffer {
  const head = Buffer.from('From: <sender@example.com>\r\nSubject: test\r\n\r\n');
  if (size <= head.length) return head.subarray(0, size);
  const tail = randomBytes(size - head.length);
  for (let i = 0; i < tail.length; i++) tail[i] = 0x20 + (tail[i]! % 0x5f);
  return Buffer.concat([head, tail]);
}
