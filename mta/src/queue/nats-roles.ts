// The NATS users of Stafette, one per role, with the narrowest permissions that work, derived
// here and only here from the names the queue uses (settings.ts, deferred-names.ts,
// delivery/delivery-streams.ts, the two KV buckets of delivery and intake's limits bucket). The chart's NATS preset, the test
// harness and `make run` all render their `authorization` block from this module
// (`stafette nats-config`), so a new subject or stream cannot be forgotten in one of them.
// The trust model these roles keep is docs/trust-model.md ("NATS roles and TLS").
//
//   intake    publishes jobs (mail.queue.>) and writes bodies into the Object Store; it may
//             create its two streams but never update, purge or delete them, and it cannot
//             read a job or consume anything. It reads the stream info (not the messages) of
//             all four mail streams for the store-pressure watcher (store-pressure.ts), and
//             keeps the shared-limits KV bucket (shared-counters.ts).
//   delivery  consumes and acks the two durable consumers, writes the ledger, the retry
//             schedules, dead letters and quarantined jobs, reads and deletes bodies (also
//             the orphan-body collector's: it looks a job up in MAILQ and MAILQ_DEFER by
//             subject, orphan-bodies.ts), keeps the MTA-STS and TLS-RPT buckets; it can never publish to mail.queue.> (DSNs, forwards and
//             TLS reports are enqueued through the intake connection of the same process),
//             and never purge or delete a stream but OBJ_<bucket> (deleting an object is a
//             purge of its chunks: docs/trust-model.md says what that leaves open).
//   admin     the `stafette queue` CLI: the whole JetStream API (it updates streams, which
//             the MTA roles may not, with `stafette queue setup`), and publishes to the job
//             and retry subjects (`stafette queue quarantine release` puts a job back where
//             it came from).
//
// No role may update a stream's configuration except the admin: an update (a max_age of one
// second, say) would delete mail as surely as a purge. Replies come back on a per-role inbox
// prefix, so no role can subscribe to another's replies (`_INBOX.>` would see them all).
import { policyBucket } from '../mta-sts/policy-store.ts';
import { tlsReportBucket } from '../tls-report/report-store.ts';
import { deferStreamName, deferSubjectPrefix } from './deferred-names.ts';
import { bodyStreamName, type QueueSettings } from './settings.ts';
import { limitsBucket } from './shared-counters.ts';

export type NatsRole = 'intake' | 'delivery' | 'admin';
export const natsRoles: readonly NatsRole[] = ['intake', 'delivery', 'admin'];

/** Every subject and stream name the roles need, from the queue settings. */
export interface QueueNames {
  readonly jobStream: string;
  readonly jobPrefix: string;
  readonly consumer: string;
  readonly bodyBucket: string;
  readonly bodyStream: string;
  readonly deferStream: string;
  readonly deferPrefix: string;
  readonly retryConsumer: string;
  readonly doneStream: string;
  readonly donePrefix: string;
  /** Delivery's KV buckets (MTA-STS policies, TLS-RPT counts). */
  readonly kvBuckets: readonly string[];
  /** Intake's KV bucket: the limits shared by every pod (policy/shared-limits.ts). */
  readonly limitsBucket: string;
}

export function queueNames(settings: QueueSettings): QueueNames {
  return {
    jobStream: settings.streamName,
    jobPrefix: settings.subjectPrefix,
    consumer: settings.consumerName,
    bodyBucket: settings.bodyBucket,
    bodyStream: bodyStreamName(settings),
    deferStream: deferStreamName(settings),
    deferPrefix: deferSubjectPrefix,
    // Same names as delivery/delivery-streams.ts deliveryStreams(); delivery-roles.test.ts checks it.
    retryConsumer: `${settings.consumerName}-retry`,
    doneStream: `${settings.streamName}_DONE`,
    donePrefix: 'mail.done',
    kvBuckets: [policyBucket, tlsReportBucket],
    limitsBucket,
  };
}

/** The inbox prefix a role's connection must use (ConnectionOptions.inboxPrefix). */
export function roleInboxPrefix(role: NatsRole): string {
  return `_INBOX_stafette_${role}`;
}

export interface RolePermissions {
  readonly publish: { readonly allow: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
}

const api = '$JS.API';

/** The subjects each role may publish and subscribe to. */
export function rolePermissions(role: NatsRole, n: QueueNames): RolePermissions {
  const inbox = [`${roleInboxPrefix(role)}.>`];
  const kvStreams = n.kvBuckets.map((b) => `KV_${b}`);
  switch (role) {
    case 'intake': {
      const limitsStream = `KV_${n.limitsBucket}`;
      return {
        publish: {
          allow: [
            `${api}.INFO`,
            ...[n.jobStream, n.bodyStream, limitsStream].flatMap((s) => [`${api}.STREAM.INFO.${s}`, `${api}.STREAM.CREATE.${s}`]),
            // The store-pressure watcher compares every capped stream's bytes with its cap.
            ...[n.deferStream, n.doneStream].map((s) => `${api}.STREAM.INFO.${s}`),
            `${api}.CONSUMER.INFO.${n.jobStream}.${n.consumer}`, // queue depth for readiness and metrics
            // nats.js reads object metadata before a put with a stream message get, which takes
            // the subject in its payload: this also lets intake read stored chunks (docs/trust-model.md).
            `${api}.STREAM.MSG.GET.${n.bodyStream}`,
            `${n.jobPrefix}.>`,
            `$O.${n.bodyBucket}.C.>`,
            `$O.${n.bodyBucket}.M.>`,
            // The shared limits: a counter is read (direct get) and written with create/update.
            `${api}.DIRECT.GET.${limitsStream}`,
            `${api}.DIRECT.GET.${limitsStream}.>`,
            `${api}.STREAM.MSG.GET.${limitsStream}`,
            `$KV.${n.limitsBucket}.>`,
          ],
        },
        subscribe: { allow: inbox },
      };
    }
    case 'delivery': {
      const consumers: [string, string][] = [
        [n.jobStream, n.consumer],
        [n.deferStream, n.retryConsumer],
      ];
      return {
        publish: {
          allow: [
            `${api}.INFO`,
            ...[n.jobStream, n.bodyStream, n.deferStream, n.doneStream, ...kvStreams].map((s) => `${api}.STREAM.INFO.${s}`),
            ...[n.deferStream, n.doneStream, ...kvStreams].map((s) => `${api}.STREAM.CREATE.${s}`),
            ...consumers.flatMap(([s, c]) => [
              `${api}.CONSUMER.INFO.${s}.${c}`,
              `${api}.CONSUMER.CREATE.${s}.${c}`,
              `${api}.CONSUMER.CREATE.${s}.${c}.>`,
              `${api}.CONSUMER.MSG.NEXT.${s}.${c}`,
              `$JS.ACK.${s}.${c}.>`,
            ]),
            // Bodies and the KV buckets are read with direct get and ordered (ephemeral) consumers.
            ...[n.bodyStream, n.doneStream, ...kvStreams].flatMap((s) => [`${api}.DIRECT.GET.${s}`, `${api}.DIRECT.GET.${s}.>`, `${api}.STREAM.MSG.GET.${s}`]),
            ...[n.bodyStream, ...kvStreams].flatMap((s) => [`${api}.CONSUMER.CREATE.${s}.>`, `${api}.CONSUMER.DELETE.${s}.>`, `$JS.FC.${s}.>`]),
            `${api}.STREAM.PURGE.${n.bodyStream}`, // deleting a finished body purges its chunks
            // The orphan-body collector: is a job or a retry still waiting for this body?
            ...[n.jobStream, n.deferStream].map((s) => `${api}.STREAM.MSG.GET.${s}`),
            `${n.deferPrefix}.wait.>`, // retries, as scheduled messages; the server itself publishes .due.
            `${n.deferPrefix}.dead.>`,
            `${n.deferPrefix}.quarantine.>`, // a job delivered too often without being settled
            `${n.donePrefix}.>`,
            `$O.${n.bodyBucket}.C.>`,
            `$O.${n.bodyBucket}.M.>`,
            ...n.kvBuckets.map((b) => `$KV.${b}.>`),
          ],
        },
        subscribe: { allow: inbox },
      };
    }
    case 'admin':
      return {
        publish: {
          allow: [
            `${api}.>`,
            `$JS.ACK.>`,
            `$JS.FC.>`,
            `${n.jobPrefix}.>`, // a released quarantined job goes back to its subject
            `${n.deferPrefix}.>`,
            `$O.${n.bodyBucket}.>`,
            ...n.kvBuckets.map((b) => `$KV.${b}.>`),
          ],
        },
        subscribe: { allow: inbox },
      };
  }
}

export interface RoleUser {
  readonly user: string;
  /**
   * The password, or the environment variable of the nats-server process that holds it
   * (NATS configuration resolves `$NAME`), so a Secret can feed it without the password in
   * the configuration file.
   */
  readonly password: string | { readonly env: string };
}

/** Default user names; the chart and `make run` use these. */
export function defaultRoleUser(role: NatsRole): string {
  return `stafette-${role}`;
}

/**
 * The nats-server `authorization { users = [...] }` block for the given role users (a role
 * left out gets no user). The output is NATS configuration syntax, also valid JSON inside
 * the braces, so it can be pasted into a nats-server.conf or the NATS chart's `config.merge`.
 */
export function renderAuthorization(users: Partial<Record<NatsRole, RoleUser>>, names: QueueNames): string {
  const entries = natsRoles.flatMap((role) => {
    const u = users[role];
    if (!u) return [];
    const p = rolePermissions(role, names);
    return [
      [
        '    {',
        `      user: ${JSON.stringify(u.user)}`,
        `      password: ${typeof u.password === 'string' ? JSON.stringify(u.password) : `$${u.password.env}`}`,
        '      permissions: {',
        `        publish: { allow: ${list(p.publish.allow)} }`,
        `        subscribe: { allow: ${list(p.subscribe.allow)} }`,
        '      }',
        '    }',
      ].join('\n'),
    ];
  });
  return `authorization {\n  users: [\n${entries.join('\n')}\n  ]\n}\n`;
}

/**
 * The same users as a plain object, for the NATS chart's `config.merge.authorization` (YAML
 * or JSON); a password from the environment becomes the chart's `<< $NAME >>` (a raw value).
 */
export function authorizationObject(users: Partial<Record<NatsRole, RoleUser>>, names: QueueNames): { users: object[] } {
  return {
    users: natsRoles.flatMap((role) => {
      const u = users[role];
      if (!u) return [];
      const p = rolePermissions(role, names);
      const password = typeof u.password === 'string' ? u.password : `<< $${u.password.env} >>`;
      return [{ user: u.user, password, permissions: { publish: { allow: [...p.publish.allow] }, subscribe: { allow: [...p.subscribe.allow] } } }];
    }),
  };
}

function list(items: readonly string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
}
