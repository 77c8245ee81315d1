// The NATS role permissions (nats-roles.ts), checked with NATS's own subject matching rules:
// what each role may and may not publish, and the rendered authorization block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryStreams } from '../delivery/delivery-streams.ts';
import { authorizationObject, queueNames, renderAuthorization, rolePermissions, roleInboxPrefix, type NatsRole } from './nats-roles.ts';
import { defaultQueueSettings, jobSubject, queueSettings } from './settings.ts';

const names = queueNames(defaultQueueSettings);

// NATS subject matching: `*` is one token, `>` one or more trailing tokens.
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const mayPublish = (role: NatsRole, subject: string) => rolePermissions(role, names).publish.allow.some((p) => matches(p, subject));

test('the names are the ones the queue and delivery modules use', () => {
  const d = deliveryStreams(defaultQueueSettings, 5 * 86_400_000);
  assert.equal(names.deferStream, d.deferStream);
  assert.equal(names.retryConsumer, d.retryConsumer);
  assert.equal(names.doneStream, d.doneStream);
  assert.equal(names.donePrefix, d.donePrefix);
  assert.equal(names.deferPrefix, d.deferPrefix);
  assert.deepEqual(
    queueNames(queueSettings({ streamName: 'Q2', consumerName: 'c2' })).retryConsumer,
    deliveryStreams(queueSettings({ streamName: 'Q2', consumerName: 'c2' }), 1).retryConsumer,
  );
});

test('intake publishes jobs and bodies, and can neither consume, ack, purge, delete nor reconfigure', () => {
  assert.ok(mayPublish('intake', jobSubject(defaultQueueSettings, '01JD0000000000000000000000')));
  assert.ok(mayPublish('intake', '$O.mailbody.C.abc'));
  assert.ok(mayPublish('intake', '$JS.API.STREAM.CREATE.MAILQ'));
  for (const subject of [
    '$JS.API.CONSUMER.MSG.NEXT.MAILQ.delivery',
    '$JS.API.CONSUMER.CREATE.MAILQ.thief',
    '$JS.ACK.MAILQ.delivery.1.1.1.1.1',
    '$JS.API.STREAM.MSG.GET.MAILQ',
    '$JS.API.DIRECT.GET.MAILQ',
    '$JS.API.STREAM.UPDATE.MAILQ',
    '$JS.API.STREAM.PURGE.OBJ_mailbody',
    'mail.defer.wait.x',
    'mail.done.x.y',
  ]) {
    assert.equal(mayPublish('intake', subject), false, subject);
  }
});

test('delivery consumes, acks and writes its streams, but never publishes a job or a due retry', () => {
  for (const subject of [
    '$JS.API.CONSUMER.MSG.NEXT.MAILQ.delivery',
    '$JS.ACK.MAILQ.delivery.1.2.3.4.5',
    '$JS.ACK.MAILQ_DEFER.delivery-retry.1.2.3.4.5',
    'mail.defer.wait.01JD0000000000000000000000',
    'mail.defer.dead.fresh-1',
    'mail.done.01JD0000000000000000000000.abc',
    '$JS.API.STREAM.PURGE.OBJ_mailbody',
  ]) {
    assert.ok(mayPublish('delivery', subject), subject);
  }
  for (const subject of ['mail.queue.job.01JD0000000000000000000000', 'mail.defer.due.01JD0000000000000000000000', '$JS.API.STREAM.UPDATE.MAILQ_DEFER']) {
    assert.equal(mayPublish('delivery', subject), false, subject);
  }
});

test('no MTA role may purge, delete or update a stream that holds mail, or delete a message', () => {
  for (const role of ['intake', 'delivery'] as const) {
    for (const stream of ['MAILQ', 'MAILQ_DEFER', 'MAILQ_DONE', 'OBJ_mailbody']) {
      for (const op of ['DELETE', 'UPDATE', 'MSG.DELETE']) assert.equal(mayPublish(role, `$JS.API.STREAM.${op}.${stream}`), false, `${role} ${op} ${stream}`);
      if (stream !== 'OBJ_mailbody') assert.equal(mayPublish(role, `$JS.API.STREAM.PURGE.${stream}`), false, `${role} PURGE ${stream}`);
    }
  }
  assert.ok(mayPublish('admin', '$JS.API.STREAM.UPDATE.MAILQ'));
});

test('each role subscribes only to its own inbox prefix', () => {
  for (const role of ['intake', 'delivery', 'admin'] as const) {
    assert.deepEqual(rolePermissions(role, names).subscribe.allow, [`${roleInboxPrefix(role)}.>`]);
  }
});

test('the authorization block: literal passwords quoted, environment passwords as $NAME, absent roles left out', () => {
  const text = renderAuthorization({ intake: { user: 'in', password: 'p"w' }, delivery: { user: 'out', password: { env: 'OUT_PW' } } }, names);
  assert.match(text, /^authorization \{\n {2}users: \[\n/);
  assert.match(text, /user: "in"\n {6}password: "p\\"w"/);
  assert.match(text, /user: "out"\n {6}password: \$OUT_PW\n/);
  assert.doesNotMatch(text, /admin/);
  assert.match(text, /"mail\.queue\.>"/);
  const obj = authorizationObject({ admin: { user: 'adm', password: { env: 'ADM' } } }, names);
  assert.equal(obj.users.length, 1);
  assert.equal((obj.users[0] as { password: string }).password, '<< $ADM >>');
});
